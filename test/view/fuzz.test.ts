// Property-based fuzzing of every documented route: hostile bodies, params, queries and headers.
// It holds: never a 5xx, always a JSON error body, and a rejected request changes nothing stored.
// FUZZ_RUNS sets the cases per route (default 120, a few thousand in all).
import fc from 'fast-check'
import t from 'tap'
import { ConsistencyDao } from '../consistency.ts'
import { createPool } from '../../model/database.ts'
import { readdir } from 'node:fs/promises'
import { appFor, signUpAndLogin, testConfig } from '../helper.ts'
import { multipart, pngBytes } from '../../scripts/support/uploads.ts'
import { chunked, RawConnection, requestHead, within } from '../raw-http.ts'

/** Cases per route: a positive integer. FUZZ_RUNS=0 would check nothing and pass, so it fails instead. */
function fuzzRuns(value = process.env.FUZZ_RUNS ?? '120'): number {
  const runs = Number(value)
  if (!Number.isSafeInteger(runs) || runs < 1) {
    throw new Error(`FUZZ_RUNS must be a positive integer (cases per route), not ${JSON.stringify(value)}`)
  }
  return runs
}

const runs = fuzzRuns()

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
  {
    weight: 4,
    arbitrary: fc.dictionary(
      fc.constantFrom(
        'tweet',
        'email',
        'password',
        'name',
        'profile',
        'follow',
        'unfollow',
        'media_ids',
        'in_reply_to',
        'username',
        '__proto__',
        'constructor',
        'x'
      ),
      fc.oneof(scalar, fc.array(scalar, { maxLength: 6 }), fc.dictionary(fc.string(), scalar))
    )
  },
  { weight: 1, arbitrary: fc.anything() },
  { weight: 1, arbitrary: deep }
)

/** A raw body: valid JSON, broken JSON, invalid UTF-8, or nothing. */
const rawBody = fc.oneof(
  {
    weight: 5,
    arbitrary: json.map((value) => ({ payload: JSON.stringify(value) ?? 'null', type: 'application/json' }))
  },
  { weight: 1, arbitrary: fc.string().map((s) => ({ payload: `{${s}`, type: 'application/json' })) },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({
      payload: Buffer.concat([Buffer.from('{"tweet":"'), Buffer.from([0xff, 0xfe, ...bytes]), Buffer.from('"}')]),
      type: 'application/json'
    }))
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        'text/plain',
        'application/xml',
        'application/x-www-form-urlencoded',
        'multipart/form-data',
        'application/json; charset=latin1'
      )
      .map((type) => ({ payload: 'a=1&b=2', type }))
  },
  { weight: 1, arbitrary: fc.constant({ payload: undefined, type: undefined }) }
)

/** A well-formed upload of `bytes` in `field`, cut short at `cut` bytes: before its closing boundary. */
function truncatedUpload(field: string, bytes: Buffer, cut: number) {
  const form = multipart(field, 'me.png', 'image/png', bytes)
  // The closing delimiter is "--boundary--\r\n"; a body that keeps its "--" is whole.
  return { payload: form.payload.subarray(0, cut % (form.payload.length - 3)), type: form.headers['content-type'] }
}

/** Multipart bodies with edge cases, for an upload route whose file goes in `field`. */
const multipartBody = (field: string) =>
  fc.oneof(
    fc
      .record({
        field: fc.constantFrom(field, 'profile_pic', 'file', 'x', ''),
        name: hostileString,
        bytes: fc.oneof(
          fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
          fc.constant(pngBytes),
          fc.constant(Buffer.alloc(0))
        )
      })
      .map(({ field, name, bytes }) => {
        const form = multipart(field, name.replace(/["\r\n]/g, ''), 'image/png', bytes)
        return { payload: form.payload, type: form.headers['content-type'] }
      }),
    fc.nat().map((cut) => truncatedUpload(field, pngBytes, cut)),
    fc.constant({ payload: Buffer.from('--nope\r\n\r\n'), type: 'multipart/form-data; boundary=other' }),
    fc.constant({ payload: Buffer.from('no boundary at all'), type: 'multipart/form-data' }),
    fc.string().map((s) => ({
      payload: Buffer.from(
        `--b\r\nContent-Disposition: form-data; name="file"; filename="${s.replace(/["\r\n]/g, '')}"\r\n\r\n`
      ),
      type: 'multipart/form-data; boundary=b'
    }))
  )

/** The upload routes of the API document, each with the multipart field its file goes in. */
function uploadRoutes(doc: OpenApiDocument): { url: string; field: string }[] {
  return Object.entries(doc.paths).flatMap(([url, operations]) => {
    const form = operations.post?.requestBody?.content['multipart/form-data'] as
      { schema: { properties: object } } | undefined
    return form ? [{ url, field: Object.keys(form.schema.properties)[0] }] : []
  })
}

t.test('every route survives hostile input', async (t) => {
  const config = await testConfig(t)
  const app = await appFor(config)
  t.teardown(() => app.close())
  const pool = createPool(config.databaseUrl)
  t.teardown(() => pool.end())
  const consistency = new ConsistencyDao(pool)
  const user = await signUpAndLogin(app, 'Fuzzer')
  // A seed thread at ids 1 to 3 (params '1' and '2' fuzz it), whose middle reply is deleted: a placeholder.
  const seed = async (payload: object) =>
    (await app.inject({ method: 'POST', url: '/tweet', headers: { authorization: user.token }, payload })).json().id
  const root = await seed({ tweet: 'seed' })
  const middle = await seed({ tweet: 'seed reply', in_reply_to: root })
  await seed({ tweet: 'seed reply to a reply', in_reply_to: middle })
  await app.inject({ method: 'DELETE', url: `/tweet/${middle}`, headers: { authorization: user.token } })
  // And a retweet of someone else's tweet: its row's id is a param too, and no tweet to any route.
  const other = await signUpAndLogin(app, 'Other')
  const othersTweet = (
    await app.inject({
      method: 'POST',
      url: '/tweet',
      headers: { authorization: other.token },
      payload: { tweet: 'x' }
    })
  ).json().id
  await app.inject({ method: 'PUT', url: `/tweet/${othersTweet}/retweet`, headers: { authorization: user.token } })
  const timeline = await app.inject({ url: '/timeline', headers: { authorization: user.token } })
  const retweetRow = String(timeline.json().timeline[0].retweeted_by.retweet_id)
  const doc = (await app.inject({ url: '/docs/json' })).json<OpenApiDocument>()
  t.ok(
    doc.paths['/tweet']?.post &&
      doc.paths['/timeline/{user_id}']?.get &&
      doc.paths['/tweet/{id}/context']?.get &&
      doc.paths['/users/{user_id}/tweets']?.get,
    'the document lists the routes to fuzz'
  )
  t.ok(
    doc.paths['/tweet/{id}/like']?.put &&
      doc.paths['/tweet/{id}/like']?.delete &&
      doc.paths['/tweet/{id}/likes']?.get &&
      doc.paths['/users/{user_id}/likes']?.get,
    'the like routes are fuzzed too'
  )
  t.ok(
    doc.paths['/tweet/{id}/retweet']?.put && doc.paths['/tweet/{id}/retweet']?.delete,
    'the retweet routes are fuzzed too'
  )
  t.ok(
    doc.paths['/users/{user_id}/block']?.put &&
      doc.paths['/users/{user_id}/block']?.delete &&
      doc.paths['/users/{user_id}/mute']?.put &&
      doc.paths['/users/{user_id}/mute']?.delete &&
      doc.paths['/users/me/blocks']?.get &&
      doc.paths['/users/me/mutes']?.get,
    'the block and mute routes are fuzzed too'
  )
  t.ok(doc.paths['/users/by-username/{username}']?.get, 'the lookup by username is fuzzed too')
  t.ok(doc.paths['/search/users']?.get && doc.paths['/search/tweets']?.get, 'the search routes are fuzzed too')

  const authorization = fc.oneof(
    fc.constant(user.token),
    fc.constant(`Bearer ${user.token}`),
    fc.constant(undefined),
    hostileString,
    fc.constant(`${user.token.slice(0, -2)}xx`)
  )
  const paramValue = fc.oneof(
    fc.constantFrom(
      '1',
      '2',
      retweetRow,
      user.username,
      other.username.toUpperCase(),
      '999999',
      '0',
      '-1',
      '1.5',
      '99999999999999999999',
      'me',
      '%00',
      '%2e%2e',
      'x'.repeat(300)
    ),
    fc.string({ maxLength: 40 }).map(encodeURIComponent)
  )
  const query = fc.dictionary(
    fc.constantFrom('limit', 'before', 'x', '__proto__'),
    fc.oneof(hostileString, fc.integer()).map(String),
    { maxKeys: 3 }
  )

  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const method of Object.keys(operations)) {
      const upload = uploadRoutes(doc).find((route) => route.url === path && method === 'post')
      t.test(`${method.toUpperCase()} ${path}`, async (t) => {
        let checked = 0
        await fc.assert(
          fc.asyncProperty(
            fc.array(paramValue, { minLength: 2, maxLength: 2 }),
            query,
            upload ? multipartBody(upload.field) : rawBody,
            authorization,
            async ([first, second], q, body, auth) => {
              let n = 0
              const url = path.replace(/\{\w+\}/g, () => (n++ === 0 ? first : second))
              const before = await consistency.fingerprint()
              const res = await app.inject({
                method: method.toUpperCase() as 'GET',
                url,
                query: q,
                headers: {
                  ...(auth === undefined ? {} : { authorization: auth }),
                  ...(body.type ? { 'content-type': body.type } : {})
                },
                // DELETE /users/me takes a body (the password); other DELETEs take none.
                payload:
                  method === 'get' || (method === 'delete' && !('requestBody' in operations[method]))
                    ? undefined
                    : body.payload
              })
              checked++
              if (res.statusCode >= 500)
                throw new Error(`${res.statusCode} for ${method} ${url}: ${res.body.slice(0, 300)}`)
              if (res.statusCode >= 400) {
                const parsed = res.json<{ message?: unknown }>()
                if (typeof parsed.message !== 'string')
                  throw new Error(`no JSON message for ${res.statusCode} ${method} ${url}`)
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

t.test('upload routes over real connections: truncated, slow and refused bodies', async (t) => {
  const config = await testConfig(t, { MAX_UPLOAD_BYTES: '65536', MAX_MEDIA_BYTES: '131072' })
  const app = await appFor(config)
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const user = await signUpAndLogin(app, 'Uploader')
  const doc = (await app.inject({ url: '/docs/json' })).json<OpenApiDocument>()
  const routes = uploadRoutes(doc)
  t.same(routes.map((route) => route.url).sort(), ['/media', '/profile-picture'], 'every upload route is covered')
  const stored = async () => (await readdir(config.uploadDir, { recursive: true })).filter((name) => name.includes('.'))
  const connection = (t: { teardown(fn: () => unknown): void }) => {
    const raw = new RawConnection(port)
    t.teardown(() => raw.close())
    return raw
  }
  // Far beyond every cap: a client that sends it all would be at it for minutes.
  const hugeLength = 1024 * 1024 * 1024
  const filler = Buffer.alloc(16 * 1024, 0x61)

  for (const { url, field } of routes) {
    const form = (bytes: Buffer) => multipart(field, 'me.png', 'image/png', bytes)
    const authorized = (type: string, length?: number) =>
      requestHead('POST', url, {
        authorization: user.token,
        'content-type': type,
        ...(length === undefined ? { 'transfer-encoding': 'chunked' } : { 'content-length': length })
      })

    t.test(`POST ${url}`, async (t) => {
      t.test('a body cut short anywhere answers 400 naming the problem, and stores nothing', async (t) => {
        const before = await stored()
        let checked = 0
        await fc.assert(
          fc.asyncProperty(fc.nat(), async (cut) => {
            const body = truncatedUpload(field, Buffer.concat([pngBytes, Buffer.alloc(2048)]), cut)
            const res = await app.inject({
              method: 'POST',
              url,
              headers: { authorization: user.token, 'content-type': body.type },
              payload: body.payload
            })
            checked++
            if (res.statusCode !== 400)
              throw new Error(`${res.statusCode} for ${body.payload.length} bytes: ${res.body}`)
            const { message } = res.json<{ message: string }>()
            if (!/multipart|file is required/.test(message)) throw new Error(`message names no problem: ${message}`)
          }),
          { numRuns: runs }
        )
        t.equal(checked, runs)
        t.same(await stored(), before)
      })

      t.test('a second file answers 400 and stores nothing', async (t) => {
        const before = await stored()
        const one = form(pngBytes)
        const boundary = one.headers['content-type'].split('boundary=')[1]
        const part = one.payload.subarray(0, one.payload.indexOf(`\r\n--${boundary}--`))
        const res = await app.inject({
          method: 'POST',
          url,
          headers: { authorization: user.token, 'content-type': one.headers['content-type'] },
          payload: Buffer.concat([part, Buffer.from('\r\n'), part, Buffer.from(`\r\n--${boundary}--\r\n`)])
        })
        t.equal(res.statusCode, 400)
        t.match(res.json(), { message: /one file only/, field })
        t.same(await stored(), before)
      })

      t.test('slow bodies: a truncated one answers 400, a whole one is stored, on one connection', async (t) => {
        const raw = connection(t)
        const whole = form(pngBytes).payload
        const cut = truncatedUpload(field, pngBytes, whole.length - 10)
        raw.write(authorized(cut.type))
        await raw.writeSlowly(chunked(cut.payload), 8, 20)
        const truncated = await within(raw.response(), 5000, 'the answer to a slow truncated body')
        t.equal(truncated.status, 400)
        t.match(JSON.parse(truncated.body), { message: /ended before its closing boundary/ })
        t.not(truncated.headers.connection, 'close', 'the body was read to its end: the connection stays')

        const valid = form(pngBytes)
        raw.write(authorized(valid.headers['content-type'], valid.payload.length))
        await raw.writeSlowly(valid.payload, 8, 20)
        const ok = await within(raw.response(), 5000, 'the answer to a slow whole body')
        t.ok(ok.status === 200 || ok.status === 201, `stored (${ok.status})`)
      })

      t.test('two uploads on one connection: both answered, the connection kept', async (t) => {
        const raw = connection(t)
        for (let i = 0; i < 2; i += 1) {
          const valid = form(pngBytes)
          raw.write(authorized(valid.headers['content-type'], valid.payload.length))
          raw.write(valid.payload)
          const res = await within(raw.response(), 5000, `the answer to upload ${i + 1}`)
          t.ok(res.status === 200 || res.status === 201, `upload ${i + 1} stored (${res.status})`)
          t.equal(res.headers.connection, 'keep-alive')
        }
        t.notOk(raw.socket.destroyed, 'the connection is still open')
      })

      const growing = form(pngBytes)
      const misplaced = multipart(`not-${field}`, 'me.png', 'image/png', pngBytes)
      const chunk = (bytes: Buffer) =>
        Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')])
      const refusals: { name: string; status: number; head: () => string; first: () => Buffer }[] = [
        {
          name: 'a Content-Length over the cap',
          status: 413,
          head: () => authorized(form(Buffer.alloc(0)).headers['content-type'], hugeLength),
          first: () => filler
        },
        {
          name: 'a streamed body (no length) that outgrows the cap',
          status: 413,
          head: () => authorized(growing.headers['content-type']),
          // The file's first bytes, then (below) more than any cap: the size check answers mid-body.
          first: () => chunk(growing.payload.subarray(0, -50))
        },
        {
          name: 'the file in another field',
          status: 400,
          // Streamed, so the declared length is not what refuses it.
          head: () => authorized(misplaced.headers['content-type']),
          first: () => chunk(misplaced.payload.subarray(0, -50))
        },
        {
          name: 'no token',
          status: 401,
          head: () =>
            requestHead('POST', url, {
              'content-type': 'multipart/form-data; boundary=x',
              'content-length': hugeLength
            }),
          first: () => filler
        },
        {
          name: 'a body that is not multipart',
          status: 415,
          head: () =>
            requestHead('POST', url, {
              authorization: user.token,
              'content-type': 'image/png',
              'content-length': hugeLength
            }),
          first: () => pngBytes
        }
      ]
      for (const refusal of refusals) {
        t.test(
          `${refusal.name}: ${refusal.status} at once to a client still sending, then the connection closes`,
          async (t) => {
            const raw = connection(t)
            raw.write(refusal.head())
            raw.write(refusal.first())
            // Without Expect: 100-continue the client just goes on sending, chunked or not.
            const more = refusal.head().includes('chunked') ? chunk(filler) : filler
            raw.keepSending(more)
            const res = await within(raw.response(), 5000, `the ${refusal.status} answer`)
            t.equal(res.status, refusal.status)
            t.equal(res.headers.connection, 'close')
            t.type(JSON.parse(res.body).message, 'string')
            await within(raw.closed, 5000, 'the server closing the connection')
            t.ok(raw.socket.destroyed)
          }
        )
      }
    })
  }

  t.test('a JSON body over the 64 KiB limit: 413 at once, then the connection closes', async (t) => {
    const raw = connection(t)
    raw.write(
      requestHead('POST', '/tweet', {
        authorization: user.token,
        'content-type': 'application/json',
        'content-length': hugeLength
      })
    )
    raw.write('{"tweet":"')
    raw.keepSending(filler)
    const res = await within(raw.response(), 5000, 'the 413 answer')
    t.equal(res.status, 413)
    t.equal(res.headers.connection, 'close')
    await within(raw.closed, 5000, 'the server closing the connection')
  })

  t.test('over the rate limit: 429 at once to an upload still sending, then the connection closes', async (t) => {
    const limited = await appFor(await testConfig(t, { RATE_LIMIT_MAX: '1', RATE_LIMIT_WINDOW: '1h' }))
    t.teardown(() => limited.close())
    await limited.listen({ port: 0, host: '127.0.0.1' })
    const limitedPort = (limited.server.address() as { port: number }).port
    t.equal(
      (await fetch(`http://127.0.0.1:${limitedPort}/timeline/1`)).status,
      404,
      'the only request the budget allows'
    )
    const raw = new RawConnection(limitedPort)
    t.teardown(() => raw.close())
    raw.write(
      requestHead('POST', routes[0].url, {
        authorization: user.token,
        'content-type': 'multipart/form-data; boundary=x',
        'content-length': hugeLength
      })
    )
    raw.keepSending(filler)
    const res = await within(raw.response(), 5000, 'the 429 answer')
    t.equal(res.status, 429)
    t.equal(res.headers.connection, 'close')
    await within(raw.closed, 5000, 'the server closing the connection')
  })
})
