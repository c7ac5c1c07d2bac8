import t from 'tap'
import { buildTestApp, signUpAndLogin } from '../helper.ts'
import { RawConnection, requestHead, within } from '../raw-http.ts'

t.test('ping and routing', async (t) => {
  const app = await buildTestApp(t)

  t.test('GET /ping answers pong as text', async (t) => {
    const res = await app.inject({ url: '/ping' })
    t.equal(res.statusCode, 200)
    t.equal(res.body, 'pong')
    t.match(res.headers['content-type'], /^text\/plain/)
  })

  t.test('an unknown route answers 404 JSON', async (t) => {
    const res = await app.inject({ url: '/nowhere' })
    t.equal(res.statusCode, 404)
    t.match(res.json(), { message: /not found/ })
  })

  t.test('a known path with a wrong method answers 405 with Allow', async (t) => {
    const res = await app.inject({ method: 'DELETE', url: '/ping' })
    t.equal(res.statusCode, 405)
    t.equal(res.headers.allow, 'GET, HEAD, OPTIONS')
    t.match(res.json(), { message: /not allowed/ })
    const tweet = await app.inject({ method: 'GET', url: '/tweet' })
    t.equal(tweet.statusCode, 405)
    t.match(tweet.headers.allow, /POST/)
    const timeline = await app.inject({ method: 'POST', url: '/timeline/3' })
    t.equal(timeline.statusCode, 405)
  })

  t.test('OPTIONS answers with Allow', async (t) => {
    const res = await app.inject({ method: 'OPTIONS', url: '/sign-up' })
    t.equal(res.statusCode, 204)
    t.equal(res.headers.allow, 'POST, OPTIONS')
    t.equal((await app.inject({ method: 'OPTIONS', url: '/nowhere' })).statusCode, 404)
  })

  t.test('a missing file under an allowed path answers 404, not 405', async (t) => {
    const res = await app.inject({ url: '/uploads/profile/missing.png' })
    t.equal(res.statusCode, 404)
    t.match(res.json(), { message: /not found/ })
  })

  t.test('over a real connection, requests answered in full keep it open', async (t) => {
    // Without the global rate limit's async hook, /ping is answered while Node still parses its request.
    const server = await buildTestApp(t, { RATE_LIMIT_MAX: '0' })
    await server.listen({ port: 0, host: '127.0.0.1' })
    const { port } = server.server.address() as { port: number }
    const alice = await signUpAndLogin(server, 'Alice')
    const raw = new RawConnection(port)
    t.teardown(() => raw.close())
    const json = JSON.stringify({ tweet: 'kept alive' })
    const requests = [
      requestHead('GET', '/ping', {}),
      requestHead('GET', '/ping', {}),
      requestHead('GET', `/timeline/${alice.id}`, {}),
      requestHead('POST', '/tweet', {
        authorization: alice.token,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(json)
      }) + json,
      requestHead('GET', '/nowhere', {})
    ]
    for (const request of requests) {
      raw.write(request)
      const res = await within(raw.response(), 5000, `the answer to ${request.split('\r\n')[0]}`)
      t.not(res.headers.connection, 'close', request.split('\r\n')[0])
    }
    t.notOk(raw.socket.destroyed, 'the connection is still open')
  })
})
