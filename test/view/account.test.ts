import t from 'tap'
import { buildTestApp } from '../helper.ts'

const alice = { name: 'Alice', email: 'alice@example.com', password: 'password123', profile: 'hello' }

t.test('sign-up', async (t) => {
  const app = await buildTestApp(t)

  t.test('creates a user and answers with it, never with the hash', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/sign-up', payload: alice })
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.match(body, { name: 'Alice', email: 'alice@example.com', profile: 'hello' })
    t.type(body.id, 'number')
    t.match(body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    t.notOk('password' in body || 'hashed_password' in body)
  })

  t.test('a duplicate email (any case) answers 409', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/sign-up',
      payload: { ...alice, email: 'ALICE@example.com' }
    })
    t.equal(res.statusCode, 409)
    t.match(res.json(), { message: /already exists/, field: 'email' })
  })

  t.test('a missing field is named in a 400', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/sign-up', payload: { name: 'x', password: 'password123' } })
    t.equal(res.statusCode, 400)
    t.match(res.json(), { message: /email/, errors: [{ field: 'email', location: 'body' }] })
  })

  t.test('an invalid email answers 400', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/sign-up', payload: { ...alice, email: 'not-an-email' } })
    t.equal(res.statusCode, 400)
    t.match(res.json().message, /email/)
  })

  t.test('a password shorter than 8 bytes answers 400 with the rule README states', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/sign-up',
      payload: { ...alice, email: 'b@example.com', password: 'short' }
    })
    t.equal(res.statusCode, 400)
    t.match(res.json().message, /^body password: must be 8–72 bytes in UTF-8/)
    const korean = await app.inject({
      method: 'POST',
      url: '/sign-up',
      payload: { ...alice, email: 'b2@example.com', password: '비밀번' } // 3 characters, 9 bytes
    })
    t.equal(korean.statusCode, 200, 'the rule counts bytes, as bcrypt does')
  })

  t.test('a password over 72 bytes is rejected, not truncated', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/sign-up',
      payload: { ...alice, email: 'c@example.com', password: '비밀번호'.repeat(7) } // 28 chars, 84 bytes
    })
    t.equal(res.statusCode, 400)
    t.match(res.json().message, /72 bytes/)
  })

  t.test('bad JSON answers 400 with a JSON body, not HTML', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/sign-up',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": '
    })
    t.equal(res.statusCode, 400)
    t.match(res.headers['content-type'], /application\/json/)
    t.match(res.json().message, /JSON/)
  })

  t.test('a body that is not JSON answers 415', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/sign-up',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello'
    })
    t.equal(res.statusCode, 415)
    t.type(res.json().message, 'string')
  })
})

t.test('login', async (t) => {
  const app = await buildTestApp(t)
  await app.inject({ method: 'POST', url: '/sign-up', payload: alice })

  t.test('the right password gives user_id and a token', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/login',
      payload: { email: alice.email, password: alice.password }
    })
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.type(body.user_id, 'number')
    t.match(body.access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/)
    const payload = JSON.parse(Buffer.from(body.access_token.split('.')[1], 'base64url').toString())
    t.equal(payload.user_id, body.user_id)
    t.type(payload.exp, 'number')
  })

  t.test('the email is matched case-insensitively', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/login',
      payload: { email: 'Alice@Example.com', password: alice.password }
    })
    t.equal(res.statusCode, 200)
  })

  t.test('a wrong password and an unknown email get the same 401', async (t) => {
    const wrong = await app.inject({
      method: 'POST',
      url: '/login',
      payload: { email: alice.email, password: 'wrong-password' }
    })
    const unknown = await app.inject({
      method: 'POST',
      url: '/login',
      payload: { email: 'nobody@example.com', password: alice.password }
    })
    t.equal(wrong.statusCode, 401)
    t.equal(unknown.statusCode, 401)
    t.same(wrong.json(), unknown.json())
  })

  t.test('a missing password answers 400', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/login', payload: { email: alice.email } })
    t.equal(res.statusCode, 400)
    t.match(res.json().message, /password/)
  })
})
