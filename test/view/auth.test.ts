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

  t.test('a correctly signed token with a valid exp is accepted', async (t) => {
    t.equal((await tweet(sign({ alg: 'HS256', typ: 'JWT' }, { user_id: alice.id, exp: now + 60 }))).statusCode, 200)
  })
})
