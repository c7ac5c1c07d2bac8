import { randomUUID } from 'node:crypto'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError, loadConfig } from '../../config.ts'
import { buildTestApp, signUpAndLogin, testUploadDir } from '../helper.ts'
import { multipart, pngBytes } from '../../scripts/support/uploads.ts'

t.test('security headers', async (t) => {
  const app = await buildTestApp(t, { HSTS_MAX_AGE: '600' })

  const apiSet = {
    'content-security-policy': "default-src 'none';frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'strict-transport-security': 'max-age=600; includeSubDomains',
    'cross-origin-resource-policy': 'same-origin',
    'referrer-policy': 'no-referrer'
  }

  t.test('every API response carries them: JSON, errors, unknown routes, 405s', async (t) => {
    const alice = await signUpAndLogin(app, 'Alice')
    const responses = {
      'GET /timeline/1': await app.inject({ url: '/timeline/1' }),
      'GET /nowhere': await app.inject({ url: '/nowhere' }),
      'DELETE /ping': await app.inject({ method: 'DELETE', url: '/ping' }),
      'POST /tweet (400)': await app.inject({
        method: 'POST',
        url: '/tweet',
        headers: { authorization: alice.token },
        payload: {}
      }),
      'POST /tweet (401)': await app.inject({ method: 'POST', url: '/tweet', payload: { tweet: 'hi' } }),
      'GET /users/me': await app.inject({ url: '/users/me', headers: { authorization: alice.token } })
    }
    for (const [name, res] of Object.entries(responses)) {
      for (const [header, value] of Object.entries(apiSet)) t.equal(res.headers[header], value, `${name}: ${header}`)
      t.notOk('x-powered-by' in res.headers, name)
    }
    t.equal(responses['DELETE /ping'].statusCode, 405)
  })

  t.test('the health checks are not documents: they carry none', async (t) => {
    for (const url of ['/ping', '/health/ready']) {
      const res = await app.inject({ url })
      t.equal(res.statusCode, 200, url)
      for (const header of Object.keys(apiSet)) t.notOk(header in res.headers, `${url}: no ${header}`)
    }
  })

  t.test('uploaded pictures may be embedded by other origins', async (t) => {
    const alice = await signUpAndLogin(app, 'Alice')
    const upload = multipart('profile_pic', 'me.png', 'image/png', pngBytes)
    const posted = await app.inject({
      method: 'POST',
      url: '/profile-picture',
      headers: { ...upload.headers, authorization: alice.token },
      payload: upload.payload
    })
    const picture = await app.inject({ url: new URL(posted.json().img_url).pathname })
    t.equal(picture.statusCode, 200)
    t.equal(picture.headers['cross-origin-resource-policy'], 'cross-origin')
  })

  t.test('HSTS_MAX_AGE=0 sends no Strict-Transport-Security', async (t) => {
    const plain = await buildTestApp(t, { HSTS_MAX_AGE: '0' })
    const res = await plain.inject({ url: '/timeline/1' })
    t.notOk('strict-transport-security' in res.headers)
    t.equal(res.headers['x-content-type-options'], 'nosniff')
  })

  t.test('Swagger UI at /docs keeps a policy that lets its page load, and the document headers', async (t) => {
    const docs = await buildTestApp(t)
    const page = await docs.inject({ url: '/docs' })
    t.equal(page.statusCode, 200)
    t.match(page.headers['content-security-policy'], /script-src 'self'/)
    t.match(page.headers['content-security-policy'], /style-src 'self'/)
    t.equal(page.headers['x-frame-options'], 'DENY')
    t.equal(page.headers['x-content-type-options'], 'nosniff')
    t.equal(page.headers['cross-origin-opener-policy'], 'same-origin')
    t.equal(page.headers['origin-agent-cluster'], '?1')
    t.equal(
      (await docs.inject({ url: '/timeline/1' })).headers['content-security-policy'],
      "default-src 'none';frame-ancestors 'none'"
    )
  })
})

t.test('the global per-IP rate limit', async (t) => {
  const app = await buildTestApp(t, { RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW: '1h' })
  const from = (remoteAddress: string, url = '/timeline/1') => app.inject({ url, remoteAddress })

  t.test('responses say how much is left, then 429 with Retry-After and a JSON message', async (t) => {
    const remaining = []
    for (let i = 0; i < 3; i += 1) {
      const res = await from('10.0.0.1')
      t.equal(res.headers['x-ratelimit-limit'], '3')
      remaining.push(res.headers['x-ratelimit-remaining'])
    }
    t.same(remaining, ['2', '1', '0'])
    const limited = await from('10.0.0.1')
    t.equal(limited.statusCode, 429)
    t.match(limited.headers['content-type'], /application\/json/)
    t.equal(limited.headers['x-frame-options'], 'DENY', 'a response ended by a hook carries the security headers')
    const retryAfter = Number(limited.headers['retry-after'])
    t.ok(retryAfter > 3500 && retryAfter <= 3600, `Retry-After ${retryAfter} is about an hour`)
    t.same(limited.json(), { message: `Too many requests, retry in ${retryAfter} seconds`, retry_after: retryAfter })
  })

  t.test('unknown routes and bad tokens count too', async (t) => {
    t.equal((await from('10.0.0.2', '/nowhere')).statusCode, 404)
    const badToken = await app.inject({
      method: 'POST',
      url: '/tweet',
      remoteAddress: '10.0.0.2',
      headers: { authorization: 'not-a-token' },
      payload: { tweet: 'hi' }
    })
    t.equal(badToken.statusCode, 401)
    t.equal(badToken.headers['x-ratelimit-remaining'], '1')
    t.equal((await from('10.0.0.2')).statusCode, 404, 'user 1 does not exist')
    t.equal((await from('10.0.0.2', '/nowhere')).statusCode, 429)
  })

  t.test('another address has its own budget', async (t) => {
    t.equal((await from('10.0.0.3')).headers['x-ratelimit-remaining'], '2')
  })

  t.test('IPv6 clients count by their /64', async (t) => {
    t.equal((await from('2001:db8:1:1::1')).headers['x-ratelimit-remaining'], '2')
    t.equal((await from('2001:db8:1:1:ffff::2')).headers['x-ratelimit-remaining'], '1')
    t.equal((await from('2001:db8:1:2::1')).headers['x-ratelimit-remaining'], '2')
  })

  t.test('the health checks are never limited', async (t) => {
    for (let i = 0; i < 5; i += 1) {
      const ping = await from('10.0.0.1', '/ping')
      t.equal(ping.statusCode, 200)
      t.notOk('x-ratelimit-limit' in ping.headers)
      t.equal((await from('10.0.0.1', '/health/ready')).statusCode, 200)
    }
  })
})

t.test('client addresses behind proxies', async (t) => {
  const app = await buildTestApp(t, {
    TRUST_PROXY: '10.0.0.0/8, 2001:db8::/32',
    RATE_LIMIT_MAX: '2',
    RATE_LIMIT_WINDOW: '1h'
  })
  const from = (remoteAddress: string, forwardedFor?: string) =>
    app.inject({ url: '/nowhere', remoteAddress, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} })

  t.test('a forged X-Forwarded-For from an untrusted peer changes nothing: the peer is the client', async (t) => {
    t.equal((await from('203.0.113.5', '198.51.100.1')).headers['x-ratelimit-remaining'], '1')
    t.equal((await from('203.0.113.5', '198.51.100.2, 10.0.0.1')).headers['x-ratelimit-remaining'], '0')
    t.equal((await from('203.0.113.5', '198.51.100.3')).statusCode, 429, 'a new claimed address gets no new budget')
    t.equal((await from('203.0.113.5')).statusCode, 429)
    t.equal(
      (await from('10.0.0.1', '198.51.100.1')).headers['x-ratelimit-remaining'],
      '1',
      'the claimed address was never charged'
    )
  })

  t.test('from trusted proxies, the right-most untrusted address is the client', async (t) => {
    // What the client wrote itself comes first; each proxy appends the address it was reached from.
    t.equal((await from('10.0.0.1', 'forged, 192.0.2.7')).headers['x-ratelimit-remaining'], '1')
    t.equal((await from('10.0.0.2', '192.0.2.8, 192.0.2.7, 10.1.2.3')).headers['x-ratelimit-remaining'], '0')
    t.equal((await from('10.0.0.3', '192.0.2.7')).statusCode, 429, 'the same client through another proxy')
    t.equal((await from('10.0.0.1', '192.0.2.7, 192.0.2.9')).headers['x-ratelimit-remaining'], '1', 'another client')
    t.equal((await from('2001:db8::1', '192.0.2.10')).headers['x-ratelimit-remaining'], '1', 'an IPv6 proxy')
    t.equal(
      (await from('10.0.0.1')).headers['x-ratelimit-remaining'],
      '1',
      'a trusted peer without the header is the client'
    )
  })
})

t.test('TRUST_PROXY names the proxies to trust', async (t) => {
  t.test('none by default', async (t) => {
    for (const value of [undefined, '', 'false', '0']) {
      t.equal(loadConfig(value === undefined ? {} : { TRUST_PROXY: value }).trustProxy, false, String(value))
    }
  })

  t.test('as addresses, CIDRs and range names, IPv4 and IPv6', async (t) => {
    t.same(loadConfig({ TRUST_PROXY: ' 10.0.0.0/8, 127.0.0.1 ,fd00::/8,::1,loopback' }).trustProxy, [
      '10.0.0.0/8',
      '127.0.0.1',
      'fd00::/8',
      '::1',
      'loopback'
    ])
  })

  t.test('true, which let clients choose their address, is refused with what to set instead', async (t) => {
    for (const value of ['true', 'TRUE', 'yes']) {
      t.throws(
        () => loadConfig({ TRUST_PROXY: value }),
        new ConfigError(
          'Invalid configuration:\n  TRUST_PROXY: true trusted every hop, so any client could choose its own address ' +
            'with X-Forwarded-For; name the proxies instead, as addresses or CIDRs (e.g. 10.0.0.0/8,127.0.0.1)'
        ),
        value
      )
    }
  })

  t.test('a hop count is refused: it cannot tell a proxy from a direct client', async (t) => {
    t.throws(() => loadConfig({ TRUST_PROXY: '1' }), { message: /TRUST_PROXY: a hop count cannot tell a proxy/ })
  })

  t.test('a range of every address is refused like true', async (t) => {
    for (const entry of ['0.0.0.0/0', '::/0']) {
      t.throws(() => loadConfig({ TRUST_PROXY: `10.0.0.0/8,${entry}` }), {
        message: `TRUST_PROXY: "${entry}" would trust every address, as true did`
      })
    }
  })

  t.test('anything else names the bad entry', async (t) => {
    for (const entry of ['10.0.0.0/33', 'fd00::/129', '10.0.0', 'proxy.example', '10.0.0.0/8/1', '10.0.0.0/x', '']) {
      t.throws(
        () => loadConfig({ TRUST_PROXY: `127.0.0.1,${entry}` }),
        { message: `TRUST_PROXY: "${entry}" is not an address, a CIDR` },
        entry
      )
    }
  })
})

t.test('files under /uploads/', async (t) => {
  const uploadDir = await testUploadDir(t)
  const app = await buildTestApp(t, {
    UPLOAD_DIR: uploadDir,
    RATE_LIMIT_MAX: '2',
    UPLOADS_RATE_LIMIT_MAX: '5',
    RATE_LIMIT_WINDOW: '1h'
  })
  const stored = `profile/${randomUUID()}.png`
  await mkdir(join(uploadDir, 'profile'), { recursive: true })
  await mkdir(join(uploadDir, 'media'), { recursive: true })
  for (const name of [
    stored,
    '.env',
    'profile/.hidden.png',
    `media/${randomUUID()}.png.partial`,
    'notes',
    'profile/x.tar.gz'
  ]) {
    await writeFile(join(uploadDir, name), pngBytes)
  }
  const get = (path: string, remoteAddress: string) => app.inject({ url: `/uploads/${path}`, remoteAddress })

  t.test('a stored object is served with its caching and cross-origin headers', async (t) => {
    const res = await get(stored, '10.5.0.1')
    t.equal(res.statusCode, 200)
    t.same(res.rawPayload, pngBytes)
    t.match(res.headers['cache-control'], /immutable/)
    t.equal(res.headers['cross-origin-resource-policy'], 'cross-origin')
  })

  t.test('dotfiles, half-written .partial files and other names the storage never makes answer 404', async (t) => {
    const partials = (await readdir(join(uploadDir, 'media'))).map((file) => `media/${file}`)
    const names = ['.env', '%2eenv', 'profile/.hidden.png', 'media/', 'notes', 'profile/x.tar.gz', ...partials]
    // From an address each, so the budget for files never answers first.
    for (const [i, name] of names.entries()) {
      const res = await get(name, `10.5.1.${i}`)
      t.equal(res.statusCode, 404, name)
      t.type(res.json().message, 'string', name)
    }
  })

  t.test('files have a per-IP budget of their own, apart from the API', async (t) => {
    for (let i = 0; i < 2; i += 1)
      t.equal((await app.inject({ url: '/timeline/1', remoteAddress: '10.5.0.3' })).statusCode, 404)
    t.equal(
      (await app.inject({ url: '/timeline/1', remoteAddress: '10.5.0.3' })).statusCode,
      429,
      'the API budget is spent'
    )
    for (let i = 0; i < 5; i += 1) {
      const res = await get(stored, '10.5.0.3')
      t.equal(res.statusCode, 200, `file ${i + 1} still served`)
      t.equal(res.headers['x-ratelimit-limit'], '5')
    }
    const limited = await get(stored, '10.5.0.3')
    t.equal(limited.statusCode, 429)
    t.match(limited.json(), { message: /Too many requests/, retry_after: Number })
    t.equal(
      (await app.inject({ url: '/timeline/1', remoteAddress: '10.5.0.4' })).statusCode,
      404,
      'nor do files spend the API budget'
    )
  })

  t.test('UPLOADS_RATE_LIMIT_MAX=0 leaves files unlimited; unset, it is ten times the API limit', async (t) => {
    const open = await buildTestApp(t, { RATE_LIMIT_MAX: '1', UPLOADS_RATE_LIMIT_MAX: '0', UPLOAD_DIR: uploadDir })
    for (let i = 0; i < 3; i += 1) {
      const res = await open.inject({ url: `/uploads/${stored}` })
      t.equal(res.statusCode, 200)
      t.notOk('x-ratelimit-limit' in res.headers)
    }
    const derived = await buildTestApp(t, { RATE_LIMIT_MAX: '7', UPLOAD_DIR: uploadDir })
    t.equal((await derived.inject({ url: `/uploads/${stored}` })).headers['x-ratelimit-limit'], '70')
  })
})

t.test('login throttling', async (t) => {
  const app = await buildTestApp(t, {
    LOGIN_RATE_LIMIT_PER_IP: '8',
    LOGIN_RATE_LIMIT_PER_EMAIL: '2',
    LOGIN_RATE_LIMIT_PER_EMAIL_TOTAL: '5',
    LOGIN_RATE_LIMIT_WINDOW: '15m'
  })
  const password = 'correct horse battery'
  for (const name of ['alice', 'bob']) {
    await app.inject({ method: 'POST', url: '/sign-up', payload: { name, email: `${name}@example.com`, password } })
  }
  const login = (remoteAddress: string, email: string, attempt = 'wrong password') =>
    app.inject({ method: 'POST', url: '/login', remoteAddress, payload: { email, password: attempt } })

  t.test("per email from one address: a stranger's guesses lock out only the stranger", async (t) => {
    t.equal((await login('10.1.0.9', 'alice@example.com')).statusCode, 401)
    t.equal((await login('10.1.0.9', 'ALICE@example.com')).statusCode, 401)
    const refused = await login('10.1.0.9', 'alice@example.com', password)
    t.equal(refused.statusCode, 429, 'even the right password')
    t.equal(refused.headers['x-ratelimit-limit'], '2')
    const retryAfter = Number(refused.headers['retry-after'])
    t.ok(retryAfter > 850 && retryAfter <= 900, `Retry-After ${retryAfter} is about 15 minutes`)
    t.same(refused.json(), {
      message: `Too many login attempts for this email from this address, retry in ${retryAfter} seconds`,
      retry_after: retryAfter
    })
    t.equal((await login('10.1.0.9', 'alice@example.com')).statusCode, 429)
    t.equal((await login('10.1.0.9', 'alice@example.com')).statusCode, 429)
    t.equal(
      (await login('10.1.0.1', 'alice@example.com', password)).statusCode,
      200,
      "the owner's address is not locked out"
    )
    t.equal(
      (await login('10.1.0.1', 'alice@example.com', password)).statusCode,
      200,
      'refused guesses never reached the ceiling'
    )
    t.equal((await login('10.1.0.9', 'someone-else@example.com')).statusCode, 401, 'other accounts are unaffected')
  })

  t.test('per email from all addresses: a ceiling, the same for a known and an unknown email', async (t) => {
    const refusals = []
    for (const email of ['bob@example.com', 'nobody@example.com']) {
      for (let i = 1; i <= 5; i += 1) t.equal((await login(`10.4.0.${i}`, email)).statusCode, 401)
      const refused = await login('10.4.0.6', email, password)
      t.equal(refused.statusCode, 429, email)
      t.equal(refused.headers['x-ratelimit-limit'], '5')
      const retryAfter = Number(refused.headers['retry-after'])
      t.same(refused.json(), {
        message: `Too many login attempts for this email, retry in ${retryAfter} seconds`,
        retry_after: retryAfter
      })
      refusals.push(refused.json().message.replace(/\d+/, 'N'))
    }
    t.equal(refusals[0], refusals[1], 'a 429 does not tell whether the account exists')
  })

  t.test('per IP: the ninth attempt from one address is refused, whatever the email', async (t) => {
    for (let i = 0; i < 8; i += 1) {
      t.equal((await login('10.2.0.1', `guess${i}@example.com`)).statusCode, 401)
    }
    const refused = await login('10.2.0.1', 'guess9@example.com')
    t.equal(refused.statusCode, 429)
    t.match(refused.json(), { message: /^Too many login attempts from this address/ })
    t.ok(Number(refused.headers['retry-after']) > 0)
  })

  t.test('a malformed body still counts against the address', async (t) => {
    for (let i = 0; i < 8; i += 1) {
      const res = await app.inject({
        method: 'POST',
        url: '/login',
        remoteAddress: '10.3.0.1',
        payload: { email: 'x' }
      })
      t.equal(res.statusCode, 400)
    }
    t.equal((await login('10.3.0.1', 'guess@example.com')).statusCode, 429)
  })
})

t.test('sign-up throttling', async (t) => {
  const app = await buildTestApp(t, {
    SIGNUP_RATE_LIMIT_PER_IP: '4',
    SIGNUP_RATE_LIMIT_TAKEN_PER_IP: '2',
    SIGNUP_RATE_LIMIT_WINDOW: '1h'
  })
  const signUp = (remoteAddress: string, email: string) =>
    app.inject({
      method: 'POST',
      url: '/sign-up',
      remoteAddress,
      payload: { name: 'N', email, password: 'password123' }
    })
  const taken = ['taken1@example.com', 'taken2@example.com', 'taken3@example.com']
  for (const [i, email] of taken.entries()) t.equal((await signUp(`10.8.0.${i}`, email)).statusCode, 200)
  const refusal = /^Too many sign-up attempts from this address, retry in (\d+) seconds$/

  t.test('per IP: the fifth attempt from one address is refused, malformed ones included', async (t) => {
    t.equal((await signUp('10.5.0.1', 'new1@example.com')).statusCode, 200)
    t.equal((await signUp('10.5.0.1', 'not an email')).statusCode, 400)
    t.equal((await signUp('10.5.0.1', 'new2@example.com')).statusCode, 200)
    t.equal((await signUp('10.5.0.1', 'new3@example.com')).statusCode, 200)
    const refused = await signUp('10.5.0.1', 'new4@example.com')
    t.equal(refused.statusCode, 429)
    t.equal(refused.headers['x-ratelimit-limit'], '4')
    const retryAfter = Number(refused.headers['retry-after'])
    t.ok(retryAfter > 3500 && retryAfter <= 3600, `Retry-After ${retryAfter} is about an hour`)
    t.same(refused.json(), {
      message: `Too many sign-up attempts from this address, retry in ${retryAfter} seconds`,
      retry_after: retryAfter
    })
    t.equal(
      (await signUp('10.5.0.2', 'new4@example.com')).statusCode,
      200,
      'another address; the refused attempt created nothing'
    )
  })

  t.test('taken emails: after two such answers, every sign-up from the address is refused alike', async (t) => {
    t.match((await signUp('10.6.0.1', taken[0])).json(), { message: /already exists/, field: 'email' })
    t.equal((await signUp('10.6.0.1', taken[1])).statusCode, 409)
    const forTaken = await signUp('10.6.0.1', taken[2])
    const forFree = await signUp('10.6.0.1', 'free@example.com')
    for (const refused of [forTaken, forFree]) {
      t.equal(refused.statusCode, 429)
      t.equal(refused.headers['x-ratelimit-limit'], '2')
      t.match(refused.json().message, refusal)
    }
    t.equal((await signUp('10.6.0.2', 'free@example.com')).statusCode, 200, 'the refused free email was not created')
  })

  t.test('taken emails probed all at once still get only two answers', async (t) => {
    const answers = await Promise.all([...taken, 'free2@example.com'].map((email) => signUp('10.7.0.1', email)))
    const statuses = answers.map((res) => res.statusCode)
    t.equal(statuses.filter((status) => status === 409).length, 2, `statuses ${statuses.join(', ')}`)
    t.equal(statuses.filter((status) => status === 429).length + statuses.filter((status) => status === 200).length, 2)
  })
})

t.test('body limits per route', async (t) => {
  const app = await buildTestApp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const post = (url: string, body: string) =>
    app.inject({
      method: 'POST',
      url,
      headers: { authorization: alice.token, 'content-type': 'application/json' },
      payload: body
    })

  t.test('an oversized small-JSON body answers 413 with a JSON message', async (t) => {
    const res = await post('/follow', JSON.stringify({ follow: 2, padding: 'x'.repeat(2048) }))
    t.equal(res.statusCode, 413)
    t.type(res.json().message, 'string')
    t.equal(
      (await post('/login', JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(9000) }))).statusCode,
      413
    )
  })

  t.test('the largest valid tweet still fits, even with every character JSON-escaped', async (t) => {
    const res = await post('/tweet', `{"tweet":"${'\\ud83c\\udf89'.repeat(300)}"}`)
    t.equal(res.statusCode, 200)
    t.equal([...res.json().tweet].length, 300)
  })
})

t.test('server timeouts', async (t) => {
  const app = await buildTestApp(t, {
    REQUEST_TIMEOUT_MS: '200',
    CONNECTION_TIMEOUT_MS: '45000',
    KEEP_ALIVE_TIMEOUT_MS: '61000'
  })

  t.test('come from the configuration', async (t) => {
    t.equal(app.server.requestTimeout, 200)
    t.equal(app.server.timeout, 45000)
    t.equal(app.server.keepAliveTimeout, 61000)
  })

  t.test('a client that never finishes its request is answered 408 and disconnected', async (t) => {
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as { port: number }
    const socket = connect(port, '127.0.0.1')
    socket.write(
      'POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"em'
    )
    let received = ''
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()))
    await new Promise((resolve) => socket.on('close', resolve))
    t.match(received, /^HTTP\/1\.1 408 /)
  })
})

t.test('load shedding', async (t) => {
  // Any heap is over a 1-byte threshold: the instance counts as overloaded from its first sample on.
  const app = await buildTestApp(t, { MAX_HEAP_USED_BYTES: '1' })
  while (!app.isUnderPressure()) await new Promise((resolve) => setTimeout(resolve, 50))

  t.test('data routes and readiness answer 503 with Retry-After', async (t) => {
    const res = await app.inject({ url: '/timeline/1' })
    t.equal(res.statusCode, 503)
    t.same(res.json(), { message: 'The server is overloaded, retry later' })
    t.equal(res.headers['retry-after'], '10')
    t.equal((await app.inject({ url: '/health/ready' })).statusCode, 503)
  })

  t.test('liveness still answers 200', async (t) => {
    const res = await app.inject({ url: '/ping' })
    t.equal(res.statusCode, 200)
    t.equal(res.body, 'pong')
  })
})
