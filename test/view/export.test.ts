// GET /users/me/export: one JSON document with every list complete across many pages, as a download.
import t from 'tap'
import { multipart, pngBytes } from '../../scripts/support/uploads.ts'
import { buildTestApp, signUpAndLogin } from '../helper.ts'

t.test('GET /users/me/export', async (t) => {
  const app = await buildTestApp(t)
  const owner = await signUpAndLogin(app, 'Owner')
  const friend = await signUpAndLogin(app, 'Friend')
  const fan = await signUpAndLogin(app, 'Fan')
  const as = (token: string) => ({ authorization: token })
  // More tweets than one page of the lists (100), so that the document is made of several.
  const posted: number[] = []
  for (let i = 0; i < 230; i++) {
    const res = await app.inject({
      method: 'POST',
      url: '/tweet',
      headers: as(owner.token),
      payload: { tweet: `number ${i}` }
    })
    posted.push(res.json().id as number)
  }
  const friendTweet = (
    await app.inject({ method: 'POST', url: '/tweet', headers: as(friend.token), payload: { tweet: 'liked by owner' } })
  ).json().id as number
  await app.inject({ method: 'POST', url: '/follow', headers: as(owner.token), payload: { follow: friend.id } })
  await app.inject({ method: 'POST', url: '/follow', headers: as(fan.token), payload: { follow: owner.id } })
  await app.inject({ method: 'PUT', url: `/tweet/${friendTweet}/like`, headers: as(owner.token) })
  const form = multipart('file', 'a.png', 'image/png', pngBytes)
  const upload = await app.inject({
    method: 'POST',
    url: '/media',
    headers: { ...form.headers, ...as(owner.token) },
    payload: form.payload
  })
  t.equal(upload.statusCode, 201)

  t.test('the whole account, every list complete and newest first, as an attachment', async (t) => {
    const res = await app.inject({ url: '/users/me/export', headers: as(owner.token) })
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^application\/json/)
    t.equal(res.headers['content-disposition'], 'attachment; filename="miniter-export.json"')
    const doc = res.json()
    t.same(Object.keys(doc), ['exported_at', 'profile', 'tweets', 'following', 'followers', 'likes', 'media'])
    t.match(doc.profile, {
      id: owner.id,
      email: owner.email,
      tweets_count: 230,
      following_count: 1,
      followers_count: 1
    })
    t.same(
      doc.tweets.map((tweet: { id: number }) => tweet.id),
      [...posted].reverse(),
      'all 230 tweets, across three pages'
    )
    t.match(doc.tweets[0], { tweet: 'number 229', user: { id: owner.id }, mentions: [] })
    t.match(doc.following, [{ id: friend.id, following: true }])
    t.match(doc.followers, [{ id: fan.id, following: false }])
    t.match(doc.likes, [{ id: friendTweet, liked: true }])
    t.match(doc.media, [{ id: upload.json().id, url: upload.json().url, content_type: 'image/png' }])
  })

  t.test('an account with nothing gives empty lists; a token is required', async (t) => {
    const empty = await signUpAndLogin(app, 'Empty')
    const doc = (await app.inject({ url: '/users/me/export', headers: as(empty.token) })).json()
    t.same([doc.tweets, doc.following, doc.followers, doc.likes, doc.media], [[], [], [], [], []])
    const anonymous = await app.inject({ url: '/users/me/export' })
    t.equal(anonymous.statusCode, 401)
    t.same(anonymous.json(), { message: 'Authorization header is missing' })
  })
})
