import { createHmac } from 'node:crypto'
import t from 'tap'
import { buildTestApp, signUpAndLogin } from '../helper.ts'

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

t.test('authentication', async (t) => {
  const secret = 'a-test-secret-that-is-long-enough-0123456789'
  const app = await buildTestApp(t, { JWT_SECRET: secret })
  const alice = await signUpAndLogin(app, 'Alice')
  const tweet = (authorization?: string) =>
    app.inject({
      method: 'POST',
      url: '/tweet',
      headers: authorization === undefined ? {} : { authorization },
      payload: { tweet: 'hi' }
    })
  const sign = (header: object, payload: object, key = secret) => {
    const unsigned = `${b64(header)}.${b64(payload)}`
    return `${unsigned}.${createHmac('sha256', key).update(unsigned).digest('base64url')}`
  }
  const now = Math.floor(Date.now() / 1000)

  t.test('a missing header answers 401 with JSON', async (t) => {
    const res = await tweet()
    t.equal(res.statusCode, 401)
    t.type(res.json().message, 'string')
  })

  t.test('a malformed token answers 401', async (t) => {
    t.equal((await tweet('not-a-token')).statusCode, 401)
    t.equal((await tweet('Bearer ')).statusCode, 401)
    t.equal((await tweet('Bearer a.b.c')).statusCode, 401)
  })

  t.test('a tampered token answers 401', async (t) => {
    const [header, , signature] = alice.token.split('.')
    const forged = `${header}.${b64({ user_id: alice.id + 1, exp: now + 3600 })}.${signature}`
    t.equal((await tweet(forged)).statusCode, 401)
  })

  t.test('a token signed with another key answers 401', async (t) => {
    t.equal(
      (await tweet(sign({ alg: 'HS256', typ: 'JWT' }, { user_id: alice.id, exp: now + 3600 }, 'other-key'))).statusCode,
      401
    )
  })

  t.test('an alg "none" token answers 401', async (t) => {
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ user_id: alice.id, exp: now + 3600 })}.`
    t.equal((await tweet(none)).statusCode, 401)
  })

  t.test('an expired token answers 401', async (t) => {
    const res = await tweet(sign({ alg: 'HS256', typ: 'JWT' }, { user_id: alice.id, exp: now - 10 }))
    t.equal(res.statusCode, 401)
    t.match(res.json().message, /expired/)
  })

  t.test('a token without exp answers 401', async (t) => {
    t.equal((await tweet(sign({ alg: 'HS256', typ: 'JWT' }, { user_id: alice.id }))).statusCode, 401)
  })

  t.test('a correctly signed token for an account that no longer exists answers 401', async (t) => {
    const res = await tweet(sign({ alg: 'HS256', typ: 'JWT' }, { user_id: alice.id + 1000, exp: now + 60 }))
    t.equal(res.statusCode, 401)
    t.same(res.json(), { message: 'The account of this token no longer exists' })
    // POST /tweet refuses it in its own write; every other authenticated route by the account lookup.
    const ghost = sign({ alg: 'HS256', typ: 'JWT' }, { user_id: alice.id + 1000, exp: now + 60 })
    const follow = await app.inject({
      method: 'POST',
      url: '/follow',
      headers: { authorization: ghost },
      payload: { follow: alice.id }
    })
    t.equal(follow.statusCode, 401)
    t.same(follow.json(), { message: 'The account of this token no longer exists' })
  })

  t.test(
    'every token shape but a positive integer user_id answers 401 "invalid" on every route, writing nothing',
    async (t) => {
      const signed = (payload: object, key = secret, alg: 'HS256' | 'HS384' | 'HS512' = 'HS256') => {
        const unsigned = `${b64({ alg, typ: 'JWT' })}.${b64(payload)}`
        const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg]
        return `${unsigned}.${createHmac(hash, key).update(unsigned).digest('base64url')}`
      }
      const exp = now + 3600
      // JSON has no Infinity, but 1e400 parses to it.
      const rawPayload = (json: string) => {
        const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${Buffer.from(json).toString('base64url')}`
        return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`
      }
      const invalid = { message: 'Authorization token is invalid' }
      const shapes: [string, string, object][] = [
        ['without user_id', signed({ exp }), invalid],
        ['with sub only', signed({ sub: String(alice.id), exp }), invalid],
        ['with user_id as a string', signed({ user_id: String(alice.id), exp }), invalid],
        ['with user_id as a hex string', signed({ user_id: '0x1', exp }), invalid],
        ['with user_id as a float', signed({ user_id: alice.id + 0.5, exp }), invalid],
        ['with a negative user_id', signed({ user_id: -alice.id, exp }), invalid],
        ['with user_id 0', signed({ user_id: 0, exp }), invalid],
        ['with user_id 2**53', signed({ user_id: 2 ** 53, exp }), invalid],
        ['with user_id above the id column (2**32)', signed({ user_id: 2 ** 32, exp }), invalid],
        ['with user_id Infinity', rawPayload(`{"user_id":1e400,"exp":${exp}}`), invalid],
        ['with user_id as an object', signed({ user_id: { id: alice.id }, exp }), invalid],
        ['with user_id as an array', signed({ user_id: [alice.id], exp }), invalid],
        ['with user_id true', signed({ user_id: true, exp }), invalid],
        ['with user_id null', signed({ user_id: null, exp }), invalid],
        ['expired', signed({ user_id: alice.id, exp: now - 10 }), { message: 'Authorization token has expired' }],
        ['signed with another secret', signed({ user_id: alice.id, exp }, `${secret}-other`), invalid],
        ['signed with HS512', signed({ user_id: alice.id, exp }, secret, 'HS512'), invalid],
        ['signed with HS384', signed({ user_id: alice.id, exp }, secret, 'HS384'), invalid],
        [
          'claiming RS256',
          `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ user_id: alice.id, exp })}.${alice.token.split('.')[2]}`,
          invalid
        ]
      ]
      const routes = [
        // POST /tweet checks the account in its own write; the others look the account up first.
        { method: 'POST', url: '/tweet', payload: { tweet: 'must not be written' } },
        { method: 'POST', url: '/follow', payload: { follow: alice.id } },
        { method: 'GET', url: '/users/me' },
        { method: 'GET', url: '/timeline' },
        { method: 'PUT', url: '/tweet/1/like' },
        // Public reads take an optional token, which must be valid when given.
        { method: 'GET', url: `/timeline/${alice.id}` },
        { method: 'GET', url: '/tweet/1' },
        { method: 'GET', url: `/users/${alice.id}/likes` }
      ] as const
      const before = (await app.inject({ url: `/users/${alice.id}` })).json()
      for (const [shape, token, body] of shapes) {
        for (const route of routes) {
          const res = await app.inject({ ...route, headers: { authorization: token } })
          t.equal(res.statusCode, 401, `a token ${shape}: ${route.method} ${route.url} answers 401`)
          t.same(res.json(), body, `a token ${shape}: ${route.method} ${route.url} says why`)
        }
      }
      t.same((await app.inject({ url: `/users/${alice.id}` })).json(), before, 'no tweet, no follow written')
    }
  )

  t.test('a correctly signed token with a valid exp is accepted', async (t) => {
    t.equal((await tweet(sign({ alg: 'HS256', typ: 'JWT' }, { user_id: alice.id, exp: now + 60 }))).statusCode, 200)
  })
})
