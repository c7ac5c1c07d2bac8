// Revocable sessions through HTTP: POST /logout, POST /logout-all, PUT /users/me/password, and tokens issued
// before sessions (no ver, no jti).
import { createSigner } from 'fast-jwt'
import t from 'tap'
import { buildTestApp, signUpAndLogin, type TestUser } from '../helper.ts'

const secret = 'a-sessions-test-secret-that-is-long-enough-0123'

t.test('sessions', async (t) => {
  const app = await buildTestApp(t, { JWT_SECRET: secret, LOGIN_RATE_LIMIT_PER_EMAIL: '5' })
  const as = (token: string) => ({ authorization: token })
  const login = async (user: TestUser, password = user.password) =>
    (await app.inject({ method: 'POST', url: '/login', payload: { email: user.email, password } })).json()
      .access_token as string
  const me = (token: string) => app.inject({ url: '/users/me', headers: as(token) })
  const post = (token: string) =>
    app.inject({ method: 'POST', url: '/tweet', headers: as(token), payload: { tweet: 'still here?' } })
  const revoked = { message: 'Authorization token has been revoked' }

  t.test('POST /logout revokes the token it is called with, and no other', async (t) => {
    const user = await signUpAndLogin(app, 'Leaver')
    const other = await login(user)
    const out = await app.inject({ method: 'POST', url: '/logout', headers: as(user.token) })
    t.equal(out.statusCode, 204)
    t.equal(out.body, '')
    for (const res of [await me(user.token), await post(user.token)]) {
      t.equal(res.statusCode, 401)
      t.same(res.json(), revoked)
    }
    const again = await app.inject({ method: 'POST', url: '/logout', headers: as(user.token) })
    t.equal(again.statusCode, 401, 'a revoked token cannot log out again')
    t.equal((await me(other)).statusCode, 200, 'the account’s other token still works')
    t.equal((await post(other)).statusCode, 200)
  })

  t.test('POST /logout-all revokes every token issued so far; a new login works', async (t) => {
    const user = await signUpAndLogin(app, 'Everywhere')
    const second = await login(user)
    t.equal((await app.inject({ method: 'POST', url: '/logout-all', headers: as(second) })).statusCode, 204)
    for (const token of [user.token, second]) {
      t.same((await me(token)).json(), revoked)
      t.equal((await post(token)).statusCode, 401, 'posting too')
    }
    const fresh = await login(user)
    t.equal((await me(fresh)).statusCode, 200)
    t.equal(
      (await app.inject({ url: `/users/${user.id}`, headers: as(user.token) })).statusCode,
      401,
      'a public route refuses a revoked token rather than answering anonymously'
    )
  })

  t.test('PUT /users/me/password: current password checked, new one valid, other tokens revoked', async (t) => {
    const user = await signUpAndLogin(app, 'Changer')
    const other = await login(user)
    const change = (body: object, token = user.token) =>
      app.inject({ method: 'PUT', url: '/users/me/password', headers: as(token), payload: body })
    const wrong = await change({ current_password: 'not my password', new_password: 'a new password' })
    t.equal(wrong.statusCode, 403)
    t.same(wrong.json(), { message: 'The current password is wrong', field: 'current_password' })
    const short = await change({ current_password: user.password, new_password: 'short' })
    t.equal(short.statusCode, 400)
    t.match(short.json(), { message: /new_password/ })
    const unknown = await change({ current_password: user.password, new_password: 'a new password', x: 1 })
    t.equal(unknown.statusCode, 400)
    t.equal((await change({ current_password: user.password, new_password: 'a new password' }, 'nope')).statusCode, 401)
    const changed = await change({ current_password: user.password, new_password: 'a new password' })
    t.equal(changed.statusCode, 200)
    const { user_id, access_token } = changed.json()
    t.equal(user_id, user.id)
    t.equal((await me(access_token)).statusCode, 200, 'the answer’s token works')
    t.same((await me(other)).json(), revoked, 'every other token is revoked')
    t.same((await me(user.token)).json(), revoked, 'the one that asked too')
    const oldLogin = await app.inject({
      method: 'POST',
      url: '/login',
      payload: { email: user.email, password: user.password }
    })
    t.equal(oldLogin.statusCode, 401)
    t.equal((await me(await login(user, 'a new password'))).statusCode, 200)
  })

  t.test('a login racing a password change never leaves a working token made with the old password', async (t) => {
    for (let round = 0; round < 4; round++) {
      const user = await signUpAndLogin(app, 'Racer')
      const [changed, raced] = await Promise.all([
        app.inject({
          method: 'PUT',
          url: '/users/me/password',
          headers: as(user.token),
          payload: { current_password: user.password, new_password: 'the new password' }
        }),
        app.inject({ method: 'POST', url: '/login', payload: { email: user.email, password: user.password } })
      ])
      t.equal(changed.statusCode, 200)
      // The login either read the account before the change (its token carries the old version, revoked by
      // the change) or after it (the old password no longer matches).
      if (raced.statusCode === 200) t.equal((await me(raced.json().access_token)).statusCode, 401, 'revoked')
      else t.equal(raced.statusCode, 401, 'refused')
      t.equal((await me(changed.json().access_token)).statusCode, 200, 'the change’s own token works')
      t.equal((await me(await login(user, 'the new password'))).statusCode, 200)
    }
  })

  t.test('wrong current passwords are throttled per account', async (t) => {
    const user = await signUpAndLogin(app, 'Guessed')
    const guess = () =>
      app.inject({
        method: 'PUT',
        url: '/users/me/password',
        headers: as(user.token),
        payload: { current_password: 'a wrong guess', new_password: 'a new password' }
      })
    for (let i = 0; i < 5; i++) t.equal((await guess()).statusCode, 403)
    const refused = await guess()
    t.equal(refused.statusCode, 429)
    t.match(refused.json(), { message: /Too many password attempts for this account/ })
    t.ok(refused.headers['retry-after'])
  })

  t.test('a token from before sessions (no ver, no jti) works; its logout revokes the account’s tokens', async (t) => {
    const user = await signUpAndLogin(app, 'Legacy')
    const sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: 60_000 })
    const legacy = sign({ user_id: user.id })
    t.equal((await me(legacy)).statusCode, 200)
    t.equal((await app.inject({ method: 'POST', url: '/logout', headers: as(legacy) })).statusCode, 204)
    t.same((await me(legacy)).json(), revoked)
    t.same((await me(user.token)).json(), revoked, 'it cannot be told from the others')
    for (const [name, claims] of [
      ['a string version', { user_id: user.id, ver: '0' }],
      ['a negative version', { user_id: user.id, ver: -1 }],
      ['a numeric token id', { user_id: user.id, ver: 1, jti: 5 }],
      ['an empty token id', { user_id: user.id, ver: 1, jti: '' }]
    ] as const) {
      const res = await me(sign(claims))
      t.equal(res.statusCode, 401, name)
      t.same(res.json(), { message: 'Authorization token is invalid' }, name)
    }
  })
})
