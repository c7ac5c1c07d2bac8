// Property-based fuzzing of every documented route: hostile bodies, params, queries and headers.
// It holds: never a 5xx, always a JSON error body, and a rejected request changes nothing stored.
// FUZZ_RUNS sets the cases per route (default 120, a few thousand in all).
import fc from 'fast-check'
import t from 'tap'
import { ConsistencyDao } from '../../model/consistency-dao.ts'
import { createPool } from '../../model/database.ts'
import { buildApp } from '../../app.ts'
import { multipart, pngBytes, signUpAndLogin, testConfig } from '../helper.ts'

const runs = Number(process.env.FUZZ_RUNS ?? 120)

interface OpenApiDocument {
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>>
}

const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 400 }),
  fc.constantFrom(
    "' OR 1=1 --",
    '"; DROP TABLE users; --',
    '../../../../etc/passwd',
    '..%2f..%2fetc%2fpasswd',
    '%00',
    '\u0000',
    '<script>alert(1)</script>',
    '${jndi:ldap://x}',
    '__proto__',
    'constructor',
    '9'.repeat(400),
    '-1',
    '0',
    '1e309',
    'NaN',
    '😀'.repeat(301),
    '가'.repeat(300)
  ),
  fc.integer({ min: 1, max: 4000 }).map((n) => 'x'.repeat(n * 25))
)

const scalar = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, 2 ** 64, -0, 1.5)
)

const deep = fc.integer({ min: 50, max: 3000 }).map((depth) => {
  let value: unknown = 'bottom'
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value }
  return value
})

const json = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(fc.constantFrom('tweet', 'email', 'password', 'name', 'profile', 'follow', 'unfollow', 'media_ids', '__proto__', 'constructor', 'x'), fc.oneof(scalar, fc.array(scalar, { maxLength: 6 }), fc.dictionary(fc.string(), scalar))) },
  { weight: 1, arbitrary: fc.anything() },
  { weight: 1, arbitrary: deep }
)

/** A raw body: valid JSON, broken JSON, invalid UTF-8, or nothing. */
const rawBody = fc.oneof(
  { weight: 5, arbitrary: json.map((value) => ({ payload: JSON.stringify(value) ?? 'null', type: 'application/json' })) },
  { weight: 1, arbitrary: fc.string().map((s) => ({ payload: `{${s}`, type: 'application/json' })) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ payload: Buffer.concat([Buffer.from('{"tweet":"'), Buffer.from([0xff, 0xfe, ...bytes]), Buffer.from('"}')]), type: 'application/json' })) },
  { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data', 'application/json; charset=latin1').map((type) => ({ payload: 'a=1&b=2', type })) },
  { weight: 1, arbitrary: fc.constant({ payload: undefined, type: undefined }) }
)

/** Multipart bodies with edge cases, for upload routes. */
const multipartBody = fc.oneof(
  fc.record({ field: fc.constantFrom('profile_pic', 'file', 'x', ''), name: hostileString, bytes: fc.oneof(fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)), fc.constant(pngBytes), fc.constant(Buffer.alloc(0))) }).map(({ field, name, bytes }) => {
    const form = multipart(field, name.replace(/["\r\n]/g, ''), 'image/png', bytes)
    return { payload: form.payload, type: form.headers['content-type'] }
  }),
  fc.constant({ payload: Buffer.from('--nope\r\n\r\n'), type: 'multipart/form-data; boundary=other' }),
  fc.constant({ payload: Buffer.from('no boundary at all'), type: 'multipart/form-data' }),
  fc.string().map((s) => ({ payload: Buffer.from(`--b\r\nContent-Disposition: form-data; name="file"; filename="${s.replace(/["\r\n]/g, '')}"\r\n\r\n`), type: 'multipart/form-data; boundary=b' }))
)

t.test('every route survives hostile input', async (t) => {
  const config = await testConfig(t)
  const app = await buildApp(config)
  t.teardown(() => app.close())
  const pool = createPool(config.databaseUrl)
  t.teardown(() => pool.end())
  const consistency = new ConsistencyDao(pool)
  const user = await signUpAndLogin(app, 'Fuzzer')
  await app.inject({ method: 'POST', url: '/tweet', headers: { authorization: user.token }, payload: { tweet: 'seed' } })
  const doc = (await app.inject({ url: '/docs/json' })).json() as OpenApiDocument

  const authorization = fc.oneof(
    fc.constant(user.token),
    fc.constant(`Bearer ${user.token}`),
    fc.constant(undefined),
    hostileString,
    fc.constant(`${user.token.slice(0, -2)}xx`)
  )
  const paramValue = fc.oneof(fc.constantFrom('1', '2', '999999', '0', '-1', '1.5', '99999999999999999999', 'me', '%00', '%2e%2e', 'x'.repeat(300)), fc.string({ maxLength: 40 }).map(encodeURIComponent))
  const query = fc.dictionary(fc.constantFrom('limit', 'before', 'x', '__proto__'), fc.oneof(hostileString, fc.integer()).map(String), { maxKeys: 3 })

  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const upload = Boolean(operation.requestBody?.content['multipart/form-data'])
      t.test(`${method.toUpperCase()} ${path}`, async (t) => {
        let checked = 0
        await fc.assert(
          fc.asyncProperty(
            fc.array(paramValue, { minLength: 2, maxLength: 2 }),
            query,
            upload ? multipartBody : rawBody,
            authorization,
            async ([first, second], q, body, auth) => {
              let n = 0
              const url = path.replace(/\{\w+\}/g, () => (n++ === 0 ? first : second))
              const before = await consistency.fingerprint()
              const res = await app.inject({
                method: method.toUpperCase() as 'GET',
                url,
                query: q,
                headers: { ...(auth === undefined ? {} : { authorization: auth }), ...(body.type ? { 'content-type': body.type } : {}) },
                payload: method === 'get' || method === 'delete' ? undefined : body.payload
              })
              checked++
              if (res.statusCode >= 500) throw new Error(`${res.statusCode} for ${method} ${url}: ${res.body.slice(0, 300)}`)
              if (res.statusCode >= 400) {
                const parsed = res.json() as { message?: unknown }
                if (typeof parsed.message !== 'string') throw new Error(`no JSON message for ${res.statusCode} ${method} ${url}`)
                if (JSON.stringify(await consistency.fingerprint()) !== JSON.stringify(before)) {
                  throw new Error(`rejected ${method} ${url} (${res.statusCode}) changed stored data`)
                }
              } else if (res.statusCode !== 204 && res.statusCode !== 304 && path !== '/ping') {
                res.json()
              }
            }
          ),
          { numRuns: runs }
        )
        t.equal(checked, runs, `${runs} hostile requests, no 5xx, JSON errors, rejected ones changed nothing`)
      })
    }
  }
})
