import t from 'tap'
import { buildTestApp, signUpAndLogin } from '../helper.ts'

t.test('GET, PUT and DELETE /tweet/:id', async (t) => {
  const app = await buildTestApp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')
  const post = async (token: string, tweet: string) =>
    (await app.inject({ method: 'POST', url: '/tweet', headers: { authorization: token }, payload: { tweet } })).json()
  const tweet = await post(alice.token, 'original')

  t.test('GET answers the tweet with its author, and an ETag', async (t) => {
    const res = await app.inject({ url: `/tweet/${tweet.id}` })
    t.equal(res.statusCode, 200)
    t.match(res.json(), {
      id: tweet.id,
      user_id: alice.id,
      tweet: 'original',
      edited_at: null,
      user: { id: alice.id, name: 'Alice' },
      media: []
    })
    t.ok(res.headers.etag)
  })

  t.test('If-None-Match with the current ETag answers 304 with no body; after an edit, 200', async (t) => {
    const first = await app.inject({ url: `/tweet/${tweet.id}` })
    const again = await app.inject({
      url: `/tweet/${tweet.id}`,
      headers: { 'if-none-match': first.headers.etag as string }
    })
    t.equal(again.statusCode, 304)
    t.equal(again.body, '')
    await app.inject({
      method: 'PUT',
      url: `/tweet/${tweet.id}`,
      headers: { authorization: alice.token },
      payload: { tweet: 'changed' }
    })
    const changed = await app.inject({
      url: `/tweet/${tweet.id}`,
      headers: { 'if-none-match': first.headers.etag as string }
    })
    t.equal(changed.statusCode, 200)
    t.not(changed.headers.etag, first.headers.etag)
  })

  t.test('PUT by the author answers 200 with edited_at set', async (t) => {
    const res = await app.inject({
      method: 'PUT',
      url: `/tweet/${tweet.id}`,
      headers: { authorization: alice.token },
      payload: { tweet: '수정됨 ✏️' }
    })
    t.equal(res.statusCode, 200)
    t.match(res.json(), { id: tweet.id, tweet: '수정됨 ✏️', edited_at: /Z$/ })
    t.equal((await app.inject({ url: `/timeline/${alice.id}` })).json().timeline[0].tweet, '수정됨 ✏️')
  })

  t.test('user B cannot edit or delete user A’s tweet (403), and it stays unchanged', async (t) => {
    const put = await app.inject({
      method: 'PUT',
      url: `/tweet/${tweet.id}`,
      headers: { authorization: bob.token },
      payload: { tweet: 'hacked' }
    })
    t.equal(put.statusCode, 403)
    t.type(put.json().message, 'string')
    const del = await app.inject({ method: 'DELETE', url: `/tweet/${tweet.id}`, headers: { authorization: bob.token } })
    t.equal(del.statusCode, 403)
    t.equal((await app.inject({ url: `/tweet/${tweet.id}` })).json().tweet, '수정됨 ✏️')
  })

  t.test('PUT validates like POST: too long answers 400', async (t) => {
    const res = await app.inject({
      method: 'PUT',
      url: `/tweet/${tweet.id}`,
      headers: { authorization: alice.token },
      payload: { tweet: 'x'.repeat(301) }
    })
    t.equal(res.statusCode, 400)
  })

  t.test('unknown tweets answer 404, malformed ids 400, no token 401', async (t) => {
    t.equal((await app.inject({ url: '/tweet/999999' })).statusCode, 404)
    t.equal((await app.inject({ url: '/tweet/abc' })).statusCode, 400)
    t.equal(
      (
        await app.inject({
          method: 'PUT',
          url: '/tweet/999999',
          headers: { authorization: alice.token },
          payload: { tweet: 'x' }
        })
      ).statusCode,
      404
    )
    t.equal(
      (await app.inject({ method: 'DELETE', url: '/tweet/999999', headers: { authorization: alice.token } }))
        .statusCode,
      404
    )
    t.equal((await app.inject({ method: 'DELETE', url: `/tweet/${tweet.id}` })).statusCode, 401)
  })

  t.test('DELETE by the author answers 204; the tweet leaves timelines and counters', async (t) => {
    await app.inject({
      method: 'POST',
      url: '/follow',
      headers: { authorization: bob.token },
      payload: { follow: alice.id }
    })
    t.ok(
      (await app.inject({ url: `/timeline/${bob.id}` })).json().timeline.some((i: { id: number }) => i.id === tweet.id)
    )
    const res = await app.inject({
      method: 'DELETE',
      url: `/tweet/${tweet.id}`,
      headers: { authorization: alice.token }
    })
    t.equal(res.statusCode, 204)
    t.equal(res.body, '')
    t.equal((await app.inject({ url: `/tweet/${tweet.id}` })).statusCode, 404)
    t.notOk(
      (await app.inject({ url: `/timeline/${bob.id}` })).json().timeline.some((i: { id: number }) => i.id === tweet.id)
    )
    t.equal((await app.inject({ url: `/users/${alice.id}` })).json().tweets_count, 0)
  })
})
