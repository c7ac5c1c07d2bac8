import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { appFor, buildTestApp, localKeyOf, signUpAndLogin, testConfig } from '../helper.ts'
import { multipart, pngBytes } from '../../scripts/support/uploads.ts'

const publicUrl = 'https://miniter.example'

async function upload(app: FastifyInstance, token: string, field = 'file', url = '/media') {
  const form = multipart(field, 'p.png', 'image/png', pngBytes)
  return app.inject({ method: 'POST', url, headers: { ...form.headers, authorization: token }, payload: form.payload })
}

t.test('tweets with media', async (t) => {
  const app = await buildTestApp(t, { PUBLIC_URL: publicUrl })
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')
  const uploadMedia = async (token: string) => {
    const res = await upload(app, token)
    t.equal(res.statusCode, 201)
    return res.json<{ id: number; url: string }>()
  }
  const post = (token: string, payload: object) =>
    app.inject({ method: 'POST', url: '/tweet', headers: { authorization: token }, payload })
  const [a1, a2] = [await uploadMedia(alice.token), await uploadMedia(alice.token)]
  const b1 = await uploadMedia(bob.token)

  t.test(
    'POST /tweet with media_ids lists them, in order, with absolute URLs, in the tweet and timelines',
    async (t) => {
      const res = await post(alice.token, { tweet: 'two pictures', media_ids: [a2.id, a1.id] })
      t.equal(res.statusCode, 200)
      const tweet = res.json()
      t.same(
        tweet.media.map((m: { id: number }) => m.id),
        [a2.id, a1.id]
      )
      t.equal(tweet.media[0].url, a2.url)
      t.match(localKeyOf(tweet.media[0].url, publicUrl), /^media\/[0-9a-f-]+\.png$/, 'PUBLIC_URL, /uploads/, the key')
      t.match(tweet.media[0], { content_type: 'image/png', size: pngBytes.length })
      await app.inject({
        method: 'POST',
        url: '/follow',
        headers: { authorization: bob.token },
        payload: { follow: alice.id }
      })
      const item = (await app.inject({ url: `/timeline/${bob.id}` })).json().timeline[0]
      t.same(item.media, tweet.media)
      t.same((await app.inject({ url: `/tweet/${tweet.id}` })).json().media, tweet.media)
      const file = await app.inject({ url: new URL(tweet.media[0].url).pathname })
      t.same(file.rawPayload, pngBytes)
    }
  )

  t.test('user A cannot attach user B’s media, and nothing is written', async (t) => {
    const before = (await app.inject({ url: `/users/${alice.id}` })).json().tweets_count
    const res = await post(alice.token, { tweet: 'stolen', media_ids: [b1.id] })
    t.equal(res.statusCode, 400)
    t.match(res.json(), { field: 'media_ids' })
    t.equal((await app.inject({ url: `/users/${alice.id}` })).json().tweets_count, before)
  })

  t.test('more than 4, repeated, or already attached media ids answer 400', async (t) => {
    t.equal((await post(alice.token, { tweet: 'x', media_ids: [1, 2, 3, 4, 5] })).statusCode, 400)
    t.equal((await post(alice.token, { tweet: 'x', media_ids: [a1.id, a1.id] })).statusCode, 400)
    t.equal((await post(alice.token, { tweet: 'x', media_ids: [a1.id] })).statusCode, 400)
  })

  t.test('deleting a media item takes it off its tweet', async (t) => {
    t.equal(
      (await app.inject({ method: 'DELETE', url: `/media/${a1.id}`, headers: { authorization: alice.token } }))
        .statusCode,
      204
    )
    const item = (await app.inject({ url: `/timeline/${alice.id}` })).json().timeline[0]
    t.same(
      item.media.map((m: { id: number }) => m.id),
      [a2.id]
    )
  })
})

t.test('ETags cover file URLs: the same tweets served under another PUBLIC_URL have other tags', async (t) => {
  // Two instances on one database, as before and after PUBLIC_URL changes.
  const config = await testConfig(t, { PUBLIC_URL: 'https://a.miniter.example' })
  const before = await appFor(config)
  t.teardown(() => before.close())
  const after = await appFor({ ...config, publicUrl: 'https://b.miniter.example' })
  t.teardown(() => after.close())
  const alice = await signUpAndLogin(before, 'Alice')
  const bob = await signUpAndLogin(before, 'Bob')
  const media = (await upload(before, alice.token)).json<{ id: number }>()
  t.equal((await upload(before, bob.token, 'profile_pic', '/profile-picture')).statusCode, 200)
  const post = async (token: string, payload: object) =>
    (await before.inject({ method: 'POST', url: '/tweet', headers: { authorization: token }, payload })).json<{
      id: number
    }>()
  const withMedia = await post(alice.token, { tweet: 'a picture', media_ids: [media.id] })
  const byPictured = await post(bob.token, { tweet: 'by someone with a picture' })

  for (const [name, url] of [
    ['a tweet with media', `/tweet/${withMedia.id}`],
    ['a tweet whose author has a picture', `/tweet/${byPictured.id}`],
    ['a timeline', `/timeline/${alice.id}`]
  ]) {
    const first = await before.inject({ url })
    t.equal(first.statusCode, 200)
    t.match(first.body, 'https://a.miniter.example/uploads/', `${name} shows its files under the first base`)
    const second = await after.inject({ url, headers: { 'if-none-match': first.headers.etag as string } })
    t.equal(second.statusCode, 200, `${name}: the first copy is not current under another base`)
    t.match(second.body, 'https://b.miniter.example/uploads/')
    t.not(second.headers.etag, first.headers.etag)
  }
})
