import t from 'tap'
import { buildTestApp, signUpAndLogin } from '../helper.ts'
import { multipart, pngBytes } from '../../scripts/support/uploads.ts'

t.test('tweets with media', async (t) => {
  const app = await buildTestApp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')
  const upload = async (token: string) => {
    const form = multipart('file', 'p.png', 'image/png', pngBytes)
    const res = await app.inject({
      method: 'POST',
      url: '/media',
      headers: { ...form.headers, authorization: token },
      payload: form.payload
    })
    t.equal(res.statusCode, 201)
    return res.json<{ id: number; url: string }>()
  }
  const post = (token: string, payload: object) =>
    app.inject({ method: 'POST', url: '/tweet', headers: { authorization: token }, payload })
  const [a1, a2] = [await upload(alice.token), await upload(alice.token)]
  const b1 = await upload(bob.token)

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
      t.match(tweet.media[0], {
        url: /^http:\/\/localhost(:\d+)?\/uploads\/media\//,
        content_type: 'image/png',
        size: pngBytes.length
      })
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
