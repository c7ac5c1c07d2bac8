// DELETE /users/me: the password asked for, the account gone everywhere from the answer on (tokens,
// profile, tweets, timelines, lists, search), its pictures and media purged, its email free once erased;
// with ACCOUNT_GRACE_DAYS, logging in within the period restores it.
import { readdir } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import { createPool } from '../../model/database.ts'
import { multipart, pngBytes } from '../../scripts/support/uploads.ts'
import { ConsistencyDao, noViolations } from '../consistency.ts'
import { appFor, signUpAndLogin, testConfig, testUploadDir, type TestUser } from '../helper.ts'

const as = (token: string) => ({ authorization: token })

function deleteAccount(app: FastifyInstance, token: string, payload?: object) {
  return app.inject({ method: 'DELETE', url: '/users/me', headers: as(token), payload })
}

async function upload(app: FastifyInstance, token: string, url: string, field: string) {
  const form = multipart(field, 'p.png', 'image/png', pngBytes)
  const res = await app.inject({
    method: 'POST',
    url,
    headers: { ...form.headers, ...as(token) },
    payload: form.payload
  })
  if (res.statusCode >= 300) throw new Error(`upload failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

t.test('DELETE /users/me', async (t) => {
  const uploadDir = await testUploadDir(t)
  const config = await testConfig(t, { UPLOAD_DIR: uploadDir })
  const app = await appFor(config)
  t.teardown(() => app.close())
  const pool = createPool(config.databaseUrl)
  t.teardown(() => pool.end())
  const files = async () => (await readdir(uploadDir, { recursive: true })).filter((f) => f.includes('.'))

  const gone = await signUpAndLogin(app, 'Gone')
  const fan = await signUpAndLogin(app, 'Fan')
  const post = async (user: TestUser, payload: object) =>
    (await app.inject({ method: 'POST', url: '/tweet', headers: as(user.token), payload })).json()
  await app.inject({ method: 'POST', url: '/follow', headers: as(fan.token), payload: { follow: gone.id } })
  await app.inject({ method: 'POST', url: '/follow', headers: as(gone.token), payload: { follow: fan.id } })
  const media = await upload(app, gone.token, '/media', 'file')
  await upload(app, gone.token, '/profile-picture', 'profile_pic')
  const goneTweet = await post(gone, { tweet: 'a walrus with a picture', media_ids: [media.id] })
  const fanTweet = await post(fan, { tweet: 'fan writes' })
  await app.inject({ method: 'PUT', url: `/tweet/${fanTweet.id}/like`, headers: as(gone.token) })
  await app.inject({ method: 'PUT', url: `/tweet/${goneTweet.id}/like`, headers: as(fan.token) })
  await app.drainFanout()
  t.equal((await files()).length, 2, 'a picture and a medium are stored')

  t.test('the password is asked for: missing 400, wrong 403, nothing deleted', async (t) => {
    const missing = await deleteAccount(app, gone.token, {})
    t.equal(missing.statusCode, 400)
    t.match(missing.json(), { message: /password/ })
    const wrong = await deleteAccount(app, gone.token, { password: 'not the password' })
    t.equal(wrong.statusCode, 403)
    t.match(wrong.json(), { field: 'password' })
    t.equal((await app.inject({ url: `/users/${gone.id}` })).statusCode, 200)
  })

  t.test('a personal access token cannot delete the account', async (t) => {
    const made = await app.inject({
      method: 'POST',
      url: '/tokens',
      headers: as(gone.token),
      payload: { name: 'script', scopes: ['read', 'write'] }
    })
    const res = await deleteAccount(app, `Bearer ${made.json().token}`, { password: gone.password })
    t.equal(res.statusCode, 403)
  })

  t.test('204, and from then on the account is gone everywhere', async (t) => {
    const res = await deleteAccount(app, gone.token, { password: gone.password })
    t.equal(res.statusCode, 204)
    t.equal(res.body, '')
    t.equal((await app.inject({ url: '/users/me', headers: as(gone.token) })).statusCode, 401, 'its token')
    for (const url of [
      `/users/${gone.id}`,
      `/users/by-username/${gone.username}`,
      `/tweet/${goneTweet.id}`,
      `/timeline/${gone.id}`,
      `/users/${gone.id}/followers`,
      `/profile-picture/${gone.id}`
    ]) {
      t.equal((await app.inject({ url })).statusCode, 404, url)
    }
    const home = (await app.inject({ url: '/timeline', headers: as(fan.token) })).json().timeline
    t.same(
      home.map((item: { id: number }) => item.id),
      [fanTweet.id],
      'gone from the home timeline of its follower'
    )
    const followers = (await app.inject({ url: `/users/${fan.id}/followers` })).json().users
    t.same(followers, [], 'gone from the lists of people')
    const likers = (await app.inject({ url: `/tweet/${fanTweet.id}/likes` })).json().users
    t.same(likers, [], 'gone from the likers')
    t.same((await app.inject({ url: '/search/tweets?q=walrus' })).json().tweets, [], 'its tweets are not found')
  })

  t.test('erased: counters right, files purged, nothing left, the email free again', async (t) => {
    await app.eraseAccounts()
    const [users] = await pool.query<RowDataPacket[]>('SELECT id FROM users WHERE id = ?', [gone.id])
    t.same(users, [])
    t.same(await new ConsistencyDao(pool).violations(), noViolations)
    t.match((await app.inject({ url: `/users/${fan.id}` })).json(), { followers_count: 0, following_count: 0 })
    t.match((await app.inject({ url: `/tweet/${fanTweet.id}` })).json(), { like_count: 0 })
    await app.purgeMedia()
    t.same(await files(), [], 'its picture and media are purged')
    const again = await app.inject({
      method: 'POST',
      url: '/sign-up',
      payload: { name: 'Again', email: gone.email, password: gone.password, username: gone.username, profile: '' }
    })
    t.equal(again.statusCode, 200, 'its email and username can sign up again')
    t.not(again.json().id, gone.id)
  })
})

t.test('with ACCOUNT_GRACE_DAYS, logging in within the period restores the account', async (t) => {
  const config = await testConfig(t, { ACCOUNT_GRACE_DAYS: '14' })
  const app = await appFor(config)
  t.teardown(() => app.close())
  const user = await signUpAndLogin(app, 'Back')
  const tweet = (
    await app.inject({ method: 'POST', url: '/tweet', headers: as(user.token), payload: { tweet: 'still here' } })
  ).json()
  t.equal((await deleteAccount(app, user.token, { password: user.password })).statusCode, 204)
  t.equal(await app.eraseAccounts(), 0, 'nothing is due yet')
  t.equal((await app.inject({ url: `/tweet/${tweet.id}` })).statusCode, 404, 'gone meanwhile')
  const signUp = await app.inject({
    method: 'POST',
    url: '/sign-up',
    payload: { name: 'Other', email: user.email, password: user.password, profile: '' }
  })
  t.equal(signUp.statusCode, 409, 'the email stays taken until the account is erased')
  const login = await app.inject({
    method: 'POST',
    url: '/login',
    payload: { email: user.email, password: user.password }
  })
  t.equal(login.statusCode, 200)
  t.equal((await app.inject({ url: `/tweet/${tweet.id}` })).statusCode, 200, 'its tweets are back')
  t.equal((await app.inject({ url: '/users/me', headers: as(user.token) })).statusCode, 401, 'old tokens stay revoked')
  t.equal((await app.inject({ url: '/users/me', headers: as(login.json().access_token) })).statusCode, 200)
})
