import { randomBytes } from 'node:crypto'
import t from 'tap'
import { ConfigError, loadConfig } from '../../config.ts'
import { buildTestApp, signUpAndLogin } from '../helper.ts'

const preflight = (origin: string, url = '/tweet') => ({
  method: 'OPTIONS' as const,
  url,
  headers: {
    origin,
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization,content-type'
  }
})

t.test('CORS_ORIGINS', async (t) => {
  const secret = randomBytes(32).toString('hex')

  t.test('defaults to any origin outside production and to none in production', async (t) => {
    t.equal(loadConfig({}).corsOrigins, '*')
    t.equal(loadConfig({ NODE_ENV: 'test' }).corsOrigins, '*')
    const production = { NODE_ENV: 'production', JWT_SECRET: secret, PUBLIC_URL: 'https://miniter.example' }
    t.same(loadConfig(production).corsOrigins, [])
    t.equal(loadConfig({ ...production, CORS_ORIGINS: '*' }).corsOrigins, '*')
  })

  t.test('a list is trimmed and normalized to the form browsers send', async (t) => {
    const { corsOrigins } = loadConfig({
      CORS_ORIGINS: ' https://App.example/ , http://localhost:3000,https://b.example:443'
    })
    t.same(corsOrigins, ['https://app.example', 'http://localhost:3000', 'https://b.example'])
  })

  t.test('anything that is not an origin stops the start with a message naming it', async (t) => {
    for (const value of [
      'https://app.example/path',
      'app.example',
      'ftp://app.example',
      'https://a.example?x=1',
      ' , '
    ]) {
      t.throws(() => loadConfig({ CORS_ORIGINS: value }), /^Invalid configuration:\n {2}CORS_ORIGINS: /, value)
    }
    let error: unknown
    try {
      loadConfig({ CORS_ORIGINS: 'nope' })
    } catch (caught) {
      error = caught
    }
    t.ok(error instanceof ConfigError, 'the error is a ConfigError')
    t.throws(() => loadConfig({ CORS_ORIGINS: 'https://ok.example,nope' }), /CORS_ORIGINS: "nope" is not an origin/)
  })
})

t.test('CORS with any origin allowed (the default outside production)', async (t) => {
  const app = await buildTestApp(t)
  const origin = 'https://client.example'

  t.test('a cross-origin request gets Access-Control-Allow-Origin and the exposed headers', async (t) => {
    const res = await app.inject({ url: '/ping', headers: { origin } })
    t.equal(res.statusCode, 200)
    t.equal(res.body, 'pong')
    t.equal(res.headers['access-control-allow-origin'], '*')
    t.equal(res.headers['access-control-expose-headers'], 'ETag, Location, Retry-After')
    t.notOk(res.headers['access-control-allow-credentials'])
  })

  t.test('a preflight answers 204 with the allowed methods and headers', async (t) => {
    const res = await app.inject(preflight(origin))
    t.equal(res.statusCode, 204)
    t.equal(res.body, '')
    t.equal(res.headers['access-control-allow-origin'], '*')
    t.equal(res.headers['access-control-allow-methods'], 'GET, HEAD, POST, PUT, PATCH, DELETE')
    t.equal(res.headers['access-control-allow-headers'], 'Authorization, Content-Type')
    t.equal(res.headers['access-control-max-age'], '600')
  })

  t.test('a plain OPTIONS still answers 204 with Allow, and 404 for an unknown path', async (t) => {
    const res = await app.inject({ method: 'OPTIONS', url: '/sign-up' })
    t.equal(res.statusCode, 204)
    t.equal(res.headers.allow, 'POST, OPTIONS')
    t.notOk(res.headers['access-control-allow-methods'])
    const withOrigin = await app.inject({ method: 'OPTIONS', url: '/timeline/1', headers: { origin } })
    t.equal(withOrigin.statusCode, 204)
    t.equal(withOrigin.headers.allow, 'GET, HEAD, OPTIONS')
    const unknown = await app.inject({ method: 'OPTIONS', url: '/nowhere' })
    t.equal(unknown.statusCode, 404)
    t.match(unknown.json(), { message: /not found/ })
  })

  t.test('a wrong method still answers 405 with Allow', async (t) => {
    const res = await app.inject({ method: 'DELETE', url: '/ping', headers: { origin } })
    t.equal(res.statusCode, 405)
    t.equal(res.headers.allow, 'GET, HEAD, OPTIONS')
    t.equal(res.headers['access-control-allow-origin'], '*')
  })

  t.test('errors carry the CORS headers, so a browser client can read them', async (t) => {
    const unauthorized = await app.inject({
      method: 'POST',
      url: '/tweet',
      headers: { origin },
      payload: { tweet: 'hi' }
    })
    t.equal(unauthorized.statusCode, 401)
    t.equal(unauthorized.headers['access-control-allow-origin'], '*')
    t.match(unauthorized.json(), { message: /Authorization/ })
    const notFound = await app.inject({ url: '/nowhere', headers: { origin } })
    t.equal(notFound.statusCode, 404)
    t.equal(notFound.headers['access-control-allow-origin'], '*')
  })

  t.test('an authenticated cross-origin request works', async (t) => {
    const alice = await signUpAndLogin(app, 'Alice')
    const res = await app.inject({
      method: 'POST',
      url: '/tweet',
      headers: { origin, authorization: `Bearer ${alice.token}` },
      payload: { tweet: 'from the browser' }
    })
    t.equal(res.statusCode, 200)
    t.equal(res.json().tweet, 'from the browser')
    t.equal(res.headers['access-control-allow-origin'], '*')
  })
})

t.test('CORS with a list of origins', async (t) => {
  const app = await buildTestApp(t, { CORS_ORIGINS: 'https://app.example, https://admin.example/' })

  t.test('an allowed origin is echoed back, with Vary: Origin', async (t) => {
    for (const origin of ['https://app.example', 'https://admin.example']) {
      const res = await app.inject({ url: '/ping', headers: { origin } })
      t.equal(res.headers['access-control-allow-origin'], origin)
      t.match(res.headers.vary, /Origin/)
    }
    const pre = await app.inject(preflight('https://app.example'))
    t.equal(pre.statusCode, 204)
    t.equal(pre.headers['access-control-allow-origin'], 'https://app.example')
    t.equal(pre.headers['access-control-allow-headers'], 'Authorization, Content-Type')
  })

  t.test('a disallowed origin gets no Access-Control-Allow-Origin', async (t) => {
    for (const origin of ['https://evil.example', 'https://app.example.evil.example', 'http://app.example']) {
      const res = await app.inject({ url: '/ping', headers: { origin } })
      t.equal(res.statusCode, 200)
      t.notOk(res.headers['access-control-allow-origin'], `${origin} on GET`)
      const pre = await app.inject(preflight(origin))
      t.notOk(pre.headers['access-control-allow-origin'], `${origin} on a preflight`)
    }
  })

  t.test('a plain OPTIONS still answers 204 with Allow', async (t) => {
    const res = await app.inject({ method: 'OPTIONS', url: '/tweet' })
    t.equal(res.statusCode, 204)
    t.equal(res.headers.allow, 'POST, OPTIONS')
  })
})

t.test('CORS in production without CORS_ORIGINS', async (t) => {
  const app = await buildTestApp(t, { NODE_ENV: 'production', PUBLIC_URL: 'https://miniter.example' })

  t.test('no origin is allowed', async (t) => {
    const res = await app.inject({ url: '/ping', headers: { origin: 'https://client.example' } })
    t.equal(res.statusCode, 200)
    t.notOk(res.headers['access-control-allow-origin'])
  })

  t.test('a preflight gets only the plain OPTIONS answer', async (t) => {
    const res = await app.inject(preflight('https://client.example'))
    t.equal(res.statusCode, 204)
    t.equal(res.headers.allow, 'POST, OPTIONS')
    t.notOk(res.headers['access-control-allow-origin'])
    t.notOk(res.headers['access-control-allow-methods'])
  })
})
