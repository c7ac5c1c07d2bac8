// Personal access tokens through HTTP: made, listed and revoked with a login token; sent as Bearer; a read
// token reads only; revoked one by one, by logout-all, by a password change.
import t from 'tap'
import { maxPersonalTokens } from '../../service/limits.ts'
import { buildTestApp, signUpAndLogin, type TestUser } from '../helper.ts'

t.test('personal access tokens', async (t) => {
  const app = await buildTestApp(t)
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
  const make = (user: TestUser | string, payload: object) =>
    app.inject({
      method: 'POST',
      url: '/tokens',
      headers: typeof user === 'string' ? bearer(user) : { authorization: user.token },
      payload
    })
  const tweet = (token: string, text = 'from a machine') =>
    app.inject({ method: 'POST', url: '/tweet', headers: bearer(token), payload: { tweet: text } })
  const owner = await signUpAndLogin(app, 'Owner')
  const other = await signUpAndLogin(app, 'Other')

  t.test('made with a login token: 201 with the secret once; listed without it', async (t) => {
    const res = await make(owner, { name: ' photo uploader ', scopes: ['write', 'read'] })
    t.equal(res.statusCode, 201)
    const made = res.json()
    t.match(made, { id: Number, name: 'photo uploader', scopes: ['read', 'write'], created_at: String })
    t.match(made.token, /^mnt_[A-Za-z0-9_-]{43}$/)
    const listed = (await app.inject({ url: '/tokens', headers: { authorization: owner.token } })).json()
    t.same(listed.tokens, [
      { id: made.id, name: 'photo uploader', scopes: ['read', 'write'], created_at: made.created_at }
    ])
    t.notOk(JSON.stringify(listed).includes(made.token), 'the secret is never shown again')
    t.same((await app.inject({ url: '/tokens', headers: { authorization: other.token } })).json().tokens, [])
  })

  t.test('a write token reads and writes as its owner; a read token only reads (403 elsewhere)', async (t) => {
    const writer = (await make(owner, { name: 'writer', scopes: ['read', 'write'] })).json().token as string
    const reader = (await make(owner, { name: 'reader', scopes: ['read'] })).json().token as string
    const posted = await tweet(writer)
    t.equal(posted.statusCode, 200)
    t.equal(posted.json().user_id, owner.id)
    const me = await app.inject({ url: '/users/me', headers: bearer(reader) })
    t.equal(me.statusCode, 200)
    t.equal(me.json().id, owner.id)
    t.equal((await app.inject({ url: '/timeline', headers: bearer(reader) })).statusCode, 200)
    for (const res of [
      await tweet(reader),
      await app.inject({ method: 'PUT', url: `/tweet/${posted.json().id}/like`, headers: bearer(reader) }),
      await app.inject({ method: 'DELETE', url: `/tweet/${posted.json().id}`, headers: bearer(reader) }),
      await app.inject({ method: 'POST', url: '/follow', headers: bearer(reader), payload: { follow: other.id } })
    ]) {
      t.equal(res.statusCode, 403)
      t.same(res.json(), { message: 'This personal access token may only read', scope: 'read' })
    }
    t.equal((await app.inject({ url: `/tweet/${posted.json().id}` })).statusCode, 200, 'nothing was deleted')
  })

  t.test('tokens cannot manage tokens, the password, or every session', async (t) => {
    const writer = (await make(owner, { name: 'cannot manage', scopes: ['read', 'write'] })).json().token as string
    for (const res of [
      await make(writer, { name: 'child', scopes: ['read'] }),
      await app.inject({ url: '/tokens', headers: bearer(writer) }),
      await app.inject({ method: 'DELETE', url: '/tokens/1', headers: bearer(writer) }),
      await app.inject({ method: 'POST', url: '/logout-all', headers: bearer(writer) }),
      await app.inject({
        method: 'PUT',
        url: '/users/me/password',
        headers: bearer(writer),
        payload: { current_password: owner.password, new_password: 'a new password' }
      })
    ]) {
      t.equal(res.statusCode, 403)
      t.same(res.json(), { message: 'This route needs a login token, not a personal access token', scope: 'login' })
    }
  })

  t.test('revoked by DELETE /tokens/:id, by its own /logout; never by another user', async (t) => {
    const made = (await make(owner, { name: 'short-lived', scopes: ['read', 'write'] })).json()
    const notYours = await app.inject({
      method: 'DELETE',
      url: `/tokens/${made.id}`,
      headers: { authorization: other.token }
    })
    t.equal(notYours.statusCode, 404)
    t.equal((await tweet(made.token)).statusCode, 200, 'still works')
    const revoked = await app.inject({
      method: 'DELETE',
      url: `/tokens/${made.id}`,
      headers: { authorization: owner.token }
    })
    t.equal(revoked.statusCode, 204)
    const after = await tweet(made.token)
    t.equal(after.statusCode, 401)
    t.same(after.json(), { message: 'Authorization token is invalid' })
    t.equal(
      (await app.inject({ method: 'DELETE', url: `/tokens/${made.id}`, headers: { authorization: owner.token } }))
        .statusCode,
      404,
      'twice: gone'
    )
    const self = (await make(owner, { name: 'logs itself out', scopes: ['read', 'write'] })).json()
    t.equal((await app.inject({ method: 'POST', url: '/logout', headers: bearer(self.token) })).statusCode, 204)
    t.equal((await tweet(self.token)).statusCode, 401)
    t.equal(
      (await app.inject({ url: '/users/me', headers: { authorization: owner.token } })).statusCode,
      200,
      'the login token stays'
    )
  })

  t.test('logout-all and a password change revoke every token; new ones work', async (t) => {
    const user = await signUpAndLogin(app, 'Rotator')
    const before = (await make(user, { name: 'before', scopes: ['read'] })).json().token as string
    t.equal(
      (await app.inject({ method: 'POST', url: '/logout-all', headers: { authorization: user.token } })).statusCode,
      204
    )
    const res = await app.inject({ url: '/users/me', headers: bearer(before) })
    t.equal(res.statusCode, 401)
    t.same(res.json(), { message: 'Authorization token has been revoked' })
    const login = (
      await app.inject({ method: 'POST', url: '/login', payload: { email: user.email, password: user.password } })
    ).json().access_token as string
    const after = (await make(login, { name: 'after', scopes: ['read'] })).json().token as string
    t.equal((await app.inject({ url: '/users/me', headers: bearer(after) })).statusCode, 200)
    await app.inject({
      method: 'PUT',
      url: '/users/me/password',
      headers: bearer(login),
      payload: { current_password: user.password, new_password: 'a fresh password' }
    })
    t.equal((await app.inject({ url: '/users/me', headers: bearer(after) })).statusCode, 401, 'a password change too')
  })

  t.test('bad requests and bad tokens answer with JSON naming the problem', async (t) => {
    for (const [payload, field] of [
      [{ name: '', scopes: ['read'] }, 'name'],
      [{ name: 'x'.repeat(101), scopes: ['read'] }, 'name'],
      [{ name: 'n', scopes: [] }, 'scopes'],
      [{ name: 'n', scopes: ['write'] }, 'scopes'],
      [{ name: 'n', scopes: ['read', 'admin'] }, 'scopes']
    ] as const) {
      const res = await make(owner, payload)
      t.equal(res.statusCode, 400, JSON.stringify(payload))
      t.equal(res.json().field, field)
    }
    t.equal((await make(owner, { name: 'n', scopes: ['read'], extra: 1 })).statusCode, 400)
    const forged = await app.inject({ url: '/users/me', headers: bearer(`mnt_${'A'.repeat(43)}`) })
    t.equal(forged.statusCode, 401)
    t.same(forged.json(), { message: 'Authorization token is invalid' })
    const inUrl = await app.inject({ url: `/users/me?access_token=mnt_${'A'.repeat(43)}` })
    t.equal(inUrl.statusCode, 401, 'a token in the URL is not read')
    t.same(inUrl.json(), { message: 'Authorization header is missing' })
  })

  t.test(`at most ${maxPersonalTokens} per account: 409 beyond`, async (t) => {
    const user = await signUpAndLogin(app, 'Collector')
    for (let i = 0; i < maxPersonalTokens; i++) await make(user, { name: `t${i}`, scopes: ['read'] })
    const refused = await make(user, { name: 'one more', scopes: ['read'] })
    t.equal(refused.statusCode, 409)
    t.match(refused.json(), { field: 'tokens' })
    t.equal(
      (await app.inject({ url: '/tokens', headers: { authorization: user.token } })).json().tokens.length,
      maxPersonalTokens
    )
  })
})
