import t from 'tap'
import { buildTestApp, signUpAndLogin } from '../helper.ts'

t.test('follow and unfollow', async (t) => {
  const app = await buildTestApp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')
  const call = (url: '/follow' | '/unfollow', target: unknown, token = alice.token) =>
    app.inject({
      method: 'POST',
      url,
      headers: { authorization: token },
      payload: { [url.slice(1)]: target }
    })
  const timelineIds = async () =>
    (await app.inject({ url: `/timeline/${alice.id}` }))
      .json()
      .timeline.map((item: { user_id: number }) => item.user_id)
  await app.inject({
    method: 'POST',
    url: '/tweet',
    headers: { authorization: bob.token },
    payload: { tweet: 'from bob' }
  })

  t.test('following adds the user’s tweets to the timeline, and repeating it is not an error', async (t) => {
    const first = await call('/follow', bob.id)
    t.equal(first.statusCode, 200)
    t.same(first.json(), { user_id: alice.id, follow: bob.id })
    t.equal((await call('/follow', bob.id)).statusCode, 200)
    t.same(await timelineIds(), [bob.id])
  })

  t.test('unfollowing removes them, and repeating it is not an error', async (t) => {
    t.equal((await call('/unfollow', bob.id)).statusCode, 200)
    t.equal((await call('/unfollow', bob.id)).statusCode, 200)
    t.same(await timelineIds(), [])
  })

  t.test('repeating a follow or an unfollow leaves both users’ counters as the first one set them', async (t) => {
    const carol = await signUpAndLogin(app, 'Carol')
    const counts = async () => {
      const [follower, followee] = await Promise.all([
        app.inject({ url: `/users/${carol.id}` }),
        app.inject({ url: `/users/${bob.id}` })
      ])
      return {
        carol: { followers: follower.json().followers_count, following: follower.json().following_count },
        bob: { followers: followee.json().followers_count, following: followee.json().following_count }
      }
    }
    const start = await counts()
    t.same(start, { carol: { followers: 0, following: 0 }, bob: { followers: 0, following: 0 } })
    const followed = { carol: { followers: 0, following: 1 }, bob: { followers: 1, following: 0 } }
    t.equal((await call('/follow', bob.id, carol.token)).statusCode, 200)
    t.same(await counts(), followed, 'after the follow')
    t.equal((await call('/follow', bob.id, carol.token)).statusCode, 200)
    t.same(await counts(), followed, 'after following again')
    t.equal((await call('/unfollow', bob.id, carol.token)).statusCode, 200)
    t.same(await counts(), start, 'after the unfollow')
    t.equal((await call('/unfollow', bob.id, carol.token)).statusCode, 200)
    t.same(await counts(), start, 'after unfollowing again')
  })

  t.test('following or unfollowing an unknown user answers 404', async (t) => {
    t.equal((await call('/follow', 999999)).statusCode, 404)
    t.equal((await call('/unfollow', 999999)).statusCode, 404)
  })

  t.test('following yourself answers 400', async (t) => {
    const res = await call('/follow', alice.id)
    t.equal(res.statusCode, 400)
    t.match(res.json().message, /yourself/)
  })

  t.test('a non-numeric or missing target answers 400 naming the field', async (t) => {
    const res = await call('/follow', 'bob')
    t.equal(res.statusCode, 400)
    t.match(res.json(), { errors: [{ field: 'follow' }] })
    t.equal((await call('/unfollow', undefined)).statusCode, 400)
    t.equal((await call('/follow', -1)).statusCode, 400)
  })

  t.test('without a token answers 401', async (t) => {
    t.equal((await call('/follow', bob.id, '')).statusCode, 401)
  })
})
