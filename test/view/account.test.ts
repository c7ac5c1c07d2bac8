import t from 'tap'
import { buildTestApp } from '../helper.ts'

const alice = { name: 'Alice', email: 'alice@example.com', password: 'password123', profile: 'hello' }

t.test('sign-up', async (t) => {
  const app = await buildTestApp(t)

  t.test('the book’s body, without a username, creates a user and answers with it, never with the hash', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/sign-up', payload: alice })
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.match(body, { name: 'Alice', email: 'alice@example.com', profile: 'hello' })
    t.type(body.id, 'number')
    t.match(body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    t.notOk('password' in body || 'hashed_password' in body)
    t.same(
      Object.keys(body).sort(),
      ['created_at', 'email', 'id', 'name', 'profile', 'username'],
      'the book’s fields, plus the username'
    )
    t.equal(body.username, 'alice', 'generated from the email')
  })

  t.test('a generated username takes a numeric suffix when its plain form is taken', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/sign-up',
      payload: { ...alice, email: 'Alice@elsewhere.example', password: 'password123' }
    })
    t.equal(res.statusCode, 200)
    t.equal(res.json().username, 'alice_2', 'the email is lower-cased first')
  })

  t.test('sign-ups whose emails make the same username, sent at once, all succeed with different ones', async (t) => {
    const answers = await Promise.all(
      ['a', 'b', 'c'].map((domain) =>
        app.inject({ method: 'POST', url: '/sign-up', payload: { ...alice, email: `same.name@${domain}.example` } })
      )
    )
    t.same(
      answers.map((res) => res.statusCode),
      [200, 200, 200]
    )
    t.same(answers.map((res) => res.json().username).sort(), ['same_name', 'same_name_2', 'same_name_3'])
  })

  t.test('a chosen username is kept as chosen, in the answer and the profile', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/sign-up',
      payload: { ...alice, email: 'eunwoo@example.com', username: 'Eunwoo_Song' }
    })
    t.equal(res.statusCode, 200)
    t.equal(res.json().username, 'Eunwoo_Song')
    t.equal((await app.inject({ url: `/users/${res.json().id}` })).json().username, 'Eunwoo_Song')
  })

  t.test('a chosen username taken in any case answers 409 naming the username, and creates nothing', async (t) => {
    const payload = { ...alice, email: 'copy@example.com', username: 'EUNWOO_song' }
    const res = await app.inject({ method: 'POST', url: '/sign-up', payload })
    t.equal(res.statusCode, 409)
    t.same(res.json(), { message: 'A user with this username already exists', field: 'username' })
    const login = await app.inject({
      method: 'POST',
      url: '/login',
      payload: { email: 'copy@example.com', password: alice.password }
    })
    t.equal(login.statusCode, 401, 'no account was created')
  })

  t.test('an invalid username answers 400 naming the field', async (t) => {
    for (const username of ['ab', 'u'.repeat(31), 'two words', 'dash-ed', 'ünï', '', 42, null]) {
      const res = await app.inject({
        method: 'POST',
        url: '/sign-up',
        payload: { ...alice, email: 'invalid@example.com', username }
      })
      t.equal(res.statusCode, 400, JSON.stringify(username))
      t.match(res.json(), { message: /^body username: /, errors: [{ location: 'body', field: 'username' }] })
    }
  })

  t.test('a duplicate email (any case) answers 409', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/sign-up',
      payload: { ...alice, email: 'ALICE@example.com' }
    })
    t.equal(res.statusCode, 409)
    t.match(res.json(), { message: /already exists/, field: 'email' })
    const withUsername = await app.inject({
      method: 'POST',
      url: '/sign-up',
      payload: { ...alice, email: 'ALICE@example.com', username: 'a_free_name' }
    })
    t.equal(withUsername.statusCode, 409)
    t.same(withUsername.json(), { message: 'A user with this email already exists', field: 'email' })
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
