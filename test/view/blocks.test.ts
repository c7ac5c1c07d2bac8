// Blocks and mutes through HTTP: PUT/DELETE /users/:user_id/block and /mute, the caller's lists, and
// what a block does to /follow.
import t, { type Test } from 'tap'
import { appFor, signUpAndLogin, testConfig, type TestUser } from '../helper.ts'

async function setUp(t: Test) {
  const app = await appFor(await testConfig(t))
  t.teardown(() => app.close())
  await app.ready()
  const as = (user?: TestUser) => (user ? { authorization: user.token } : {})
  const send = (
    method: 'PUT' | 'DELETE',
    kind: 'block' | 'mute',
    user: TestUser | undefined,
    target: number | string
  ) => app.inject({ method, url: `/users/${target}/${kind}`, headers: as(user) })
  const follow = (user: TestUser, target: TestUser) =>
    app.inject({ method: 'POST', url: '/follow', headers: as(user), payload: { follow: target.id } })
  const list = (user: TestUser, which: 'blocks' | 'mutes', query = '') =>
    app.inject({ url: `/users/me/${which}${query}`, headers: as(user) })
  return { app, as, send, follow, list }
}

const none = { following: false, followed_by: false, blocking: false, blocked_by: false, muting: false }

t.test('PUT and DELETE /users/:user_id/block', async (t) => {
  const { app, as, send, follow, list } = await setUp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')

  t.test('blocking answers 200 with the relationship, ends both follows, and /follow then answers 403', async (t) => {
    await follow(alice, bob)
    await follow(bob, alice)
    const res = await send('PUT', 'block', alice, bob.id)
    t.equal(res.statusCode, 200)
    t.same(res.json(), { ...none, blocking: true })
    t.same((await app.inject({ url: `/users/${bob.id}/followers` })).json().users, [])
    t.same((await app.inject({ url: `/users/${bob.id}/following` })).json().users, [])
    t.match((await app.inject({ url: `/users/${alice.id}`, headers: as(alice) })).json(), {
      followers_count: 0,
      following_count: 0
    })
    const refused = await follow(bob, alice)
    t.equal(refused.statusCode, 403)
    t.match(refused.json(), { message: /block/, user_id: alice.id })
    t.equal((await follow(alice, bob)).statusCode, 403, 'the blocker cannot follow either')
  })

  t.test('blocking twice is one block; unblocking answers the relationship and lets them follow', async (t) => {
    t.same((await send('PUT', 'block', alice, bob.id)).json(), { ...none, blocking: true })
    const undone = await send('DELETE', 'block', alice, bob.id)
    t.equal(undone.statusCode, 200)
    t.same(undone.json(), none)
    t.same((await send('DELETE', 'block', alice, bob.id)).json(), none)
    t.equal((await follow(bob, alice)).statusCode, 200)
  })

  t.test('self, unknown users, bad ids and missing tokens are refused with JSON', async (t) => {
    const self = await send('PUT', 'block', alice, alice.id)
    t.equal(self.statusCode, 400)
    t.match(self.json(), { message: 'You cannot block yourself', field: 'block' })
    const unknown = await send('PUT', 'block', alice, 999_999)
    t.equal(unknown.statusCode, 404)
    t.match(unknown.json(), { message: 'User not found', user_id: 999_999 })
    t.equal((await send('DELETE', 'block', alice, 999_999)).statusCode, 404)
    const bad = await send('PUT', 'block', alice, 'x')
    t.equal(bad.statusCode, 400)
    t.type(bad.json().message, 'string')
    const anonymous = await send('PUT', 'block', undefined, bob.id)
    t.equal(anonymous.statusCode, 401)
    t.type(anonymous.json().message, 'string')
  })

  t.test('GET /users/me/blocks lists the blocked users, highest id first, paged', async (t) => {
    const carol = await signUpAndLogin(app, 'Carol')
    await send('PUT', 'block', alice, bob.id)
    await send('PUT', 'block', alice, carol.id)
    const first = await list(alice, 'blocks', '?limit=1')
    t.equal(first.statusCode, 200)
    t.same(first.json(), {
      users: [
        { id: carol.id, name: 'Carol', username: carol.username, profile: "Carol's profile", profile_picture: null }
      ],
      next_cursor: carol.id
    })
    const second = (await list(alice, 'blocks', `?limit=1&before=${carol.id}`)).json()
    t.same(
      second.users.map((user: { id: number }) => user.id),
      [bob.id]
    )
    t.same((await list(bob, 'blocks')).json(), { users: [], next_cursor: null }, 'only the caller’s own')
    t.equal((await list(alice, 'blocks', '?limit=0')).statusCode, 400)
    t.equal((await app.inject({ url: '/users/me/blocks' })).statusCode, 401)
  })
})

t.test('a block hides each one’s tweets from the other, both ways', async (t) => {
  const { app, as, send, follow } = await setUp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')
  const carol = await signUpAndLogin(app, 'Carol')
  const post = async (user: TestUser, tweet: string, in_reply_to?: number) =>
    app.inject({ method: 'POST', url: '/tweet', headers: as(user), payload: { tweet, in_reply_to } })
  const aliceTweet = (await post(alice, 'alice speaks')).json().id as number
  const bobTweet = (await post(bob, 'bob speaks')).json().id as number
  const bobReply = (await post(bob, 'bob answers', aliceTweet)).json().id as number
  // Carol retweets Bob, and Alice follows Carol: Bob's tweet reaches Alice through Carol.
  await follow(alice, carol)
  await app.inject({ method: 'PUT', url: `/tweet/${bobTweet}/retweet`, headers: as(carol) })
  await app.drainFanout()
  const home = async (user: TestUser) =>
    (await app.inject({ url: '/timeline', headers: as(user) })).json().timeline.map((item: { id: number }) => item.id)
  t.same(await home(alice), [bobTweet, aliceTweet], 'before the block, Carol’s retweet of Bob shows')

  await send('PUT', 'block', alice, bob.id)
  for (const [viewer, tweet, who] of [
    [alice, bobTweet, 'the blocker gets 404 for the blocked user’s'],
    [bob, aliceTweet, 'the blocked user gets 404 for the blocker’s']
  ] as const) {
    t.test(`${who} tweet, its like, retweet and reply, and its thread`, async (t) => {
      const unknown = (await app.inject({ url: '/tweet/999999', headers: as(viewer) })).json()
      const read = await app.inject({ url: `/tweet/${tweet}`, headers: as(viewer) })
      t.equal(read.statusCode, 404)
      t.same(Object.keys(read.json()).sort(), Object.keys(unknown).sort(), 'shaped like an unknown tweet')
      t.equal((await app.inject({ method: 'PUT', url: `/tweet/${tweet}/like`, headers: as(viewer) })).statusCode, 404)
      t.equal(
        (await app.inject({ method: 'PUT', url: `/tweet/${tweet}/retweet`, headers: as(viewer) })).statusCode,
        404
      )
      t.equal((await post(viewer, 'hello?', tweet)).statusCode, 404)
      t.equal((await app.inject({ url: `/tweet/${tweet}/context`, headers: as(viewer) })).statusCode, 404)
      t.match((await app.inject({ url: `/tweet/${tweet}` })).json(), { id: tweet }, 'others still see it')
      t.equal((await app.inject({ url: `/tweet/${tweet}`, headers: as(carol) })).statusCode, 200)
    })
  }

  t.test('a third party’s retweet of the blocked user leaves the blocker’s home timeline', async (t) => {
    t.same(await home(alice), [aliceTweet])
    t.same(await home(carol), [bobTweet], 'Carol still sees her own retweet')
  })

  t.test('in a thread, the blocked user’s reply is a placeholder', async (t) => {
    const thread = (await app.inject({ url: `/tweet/${aliceTweet}/context`, headers: as(alice) })).json()
    t.same(thread.descendants, [{ id: bobReply, in_reply_to: aliceTweet, deleted: true }])
    const seen = (await app.inject({ url: `/tweet/${aliceTweet}/context`, headers: as(carol) })).json()
    t.match(seen.descendants, [{ id: bobReply, tweet: 'bob answers' }], 'Carol sees the reply')
  })

  t.test('unblocking shows them again', async (t) => {
    await send('DELETE', 'block', alice, bob.id)
    t.equal((await app.inject({ url: `/tweet/${bobTweet}`, headers: as(alice) })).statusCode, 200)
    t.same(await home(alice), [bobTweet, aliceTweet])
  })
})

t.test('follower, following and likers lists: `following` for the caller, blocked users left out', async (t) => {
  const { app, as, send, follow } = await setUp(t)
  const [alice, bob, carol, dave] = [
    await signUpAndLogin(app, 'Alice'),
    await signUpAndLogin(app, 'Bob'),
    await signUpAndLogin(app, 'Carol'),
    await signUpAndLogin(app, 'Dave')
  ]
  for (const fan of [bob, carol, dave]) await follow(fan, alice)
  await follow(dave, carol)
  const tweet = (
    await app.inject({ method: 'POST', url: '/tweet', headers: as(alice), payload: { tweet: 'hi' } })
  ).json().id as number
  for (const fan of [bob, carol]) await app.inject({ method: 'PUT', url: `/tweet/${tweet}/like`, headers: as(fan) })
  const entries = async (url: string, viewer?: TestUser) => {
    const res = await app.inject({ url, headers: as(viewer) })
    t.equal(res.statusCode, 200, url)
    return res.json().users.map((user: { id: number; following: boolean }) => [user.id, user.following])
  }

  t.test('each entry says whether the caller follows it; without a token, false', async (t) => {
    t.same(await entries(`/users/${alice.id}/followers`, dave), [
      [dave.id, false],
      [carol.id, true],
      [bob.id, false]
    ])
    t.same(await entries(`/users/${dave.id}/following`, dave), [
      [carol.id, true],
      [alice.id, true]
    ])
    t.same(await entries(`/tweet/${tweet}/likes`, dave), [
      [carol.id, true],
      [bob.id, false]
    ])
    t.same(await entries(`/users/${alice.id}/followers`), [
      [dave.id, false],
      [carol.id, false],
      [bob.id, false]
    ])
    t.same(await entries(`/tweet/${tweet}/likes`), [
      [carol.id, false],
      [bob.id, false]
    ])
  })

  t.test('users blocked either way are left out; a blocked author’s likers answer 404', async (t) => {
    await send('PUT', 'block', dave, bob.id)
    t.same(await entries(`/users/${alice.id}/followers`, dave), [
      [dave.id, false],
      [carol.id, true]
    ])
    t.same(await entries(`/tweet/${tweet}/likes`, dave), [[carol.id, true]])
    t.same(
      await entries(`/users/${alice.id}/followers`, bob),
      [
        [carol.id, false],
        [bob.id, false]
      ],
      'the blocked side too'
    )
    await send('PUT', 'block', alice, dave.id)
    t.equal((await app.inject({ url: `/tweet/${tweet}/likes`, headers: as(dave) })).statusCode, 404)
    t.same(
      await entries(`/tweet/${tweet}/likes`),
      [
        [carol.id, false],
        [bob.id, false]
      ],
      'anonymous callers see everyone'
    )
  })

  t.test('a bad token is refused, not taken as anonymous', async (t) => {
    const res = await app.inject({ url: `/users/${alice.id}/followers`, headers: { authorization: 'Bearer nope' } })
    t.equal(res.statusCode, 401)
    t.type(res.json().message, 'string')
  })
})

t.test('PUT and DELETE /users/:user_id/mute', async (t) => {
  const { app, send, follow, list } = await setUp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')

  t.test('muting keeps the follow and is one way; unmuting undoes it; both are idempotent', async (t) => {
    await follow(alice, bob)
    const res = await send('PUT', 'mute', alice, bob.id)
    t.equal(res.statusCode, 200)
    t.same(res.json(), { ...none, following: true, muting: true })
    t.same((await send('PUT', 'mute', alice, bob.id)).json(), { ...none, following: true, muting: true })
    t.equal((await follow(bob, alice)).statusCode, 200, 'the muted user may still follow')
    t.same(
      (await list(alice, 'mutes')).json().users.map((user: { id: number }) => user.id),
      [bob.id]
    )
    t.same((await list(bob, 'mutes')).json().users, [])
    t.same((await send('DELETE', 'mute', alice, bob.id)).json(), { ...none, following: true, followed_by: true })
    t.same((await send('DELETE', 'mute', alice, bob.id)).json(), { ...none, following: true, followed_by: true })
    t.same((await list(alice, 'mutes')).json().users, [])
  })

  t.test('the muted account’s tweets and retweets leave the muter’s home timeline, and come back', async (t) => {
    const carol = await signUpAndLogin(app, 'Carol')
    await follow(alice, carol)
    const tweet = async (user: TestUser, text: string) =>
      (
        await app.inject({
          method: 'POST',
          url: '/tweet',
          headers: { authorization: user.token },
          payload: { tweet: text }
        })
      ).json().id as number
    const byBob = await tweet(bob, 'bob again')
    const byCarol = await tweet(carol, 'carol speaks')
    const third = await signUpAndLogin(app, 'Dave')
    const byDave = await tweet(third, 'dave, whom alice does not follow')
    await app.inject({ method: 'PUT', url: `/tweet/${byDave}/retweet`, headers: { authorization: bob.token } })
    await app.drainFanout()
    const home = async () =>
      (await app.inject({ url: '/timeline', headers: { authorization: alice.token } }))
        .json()
        .timeline.map((item: { id: number }) => item.id)
    t.same(await home(), [byDave, byCarol, byBob])
    await send('PUT', 'mute', alice, bob.id)
    t.same(await home(), [byCarol], 'bob’s tweet and bob’s retweet are gone')
    const page = (await app.inject({ url: '/timeline?limit=1', headers: { authorization: alice.token } })).json()
    t.same(page.timeline, [], 'a page whose rows are all muted comes back empty')
    const next = (
      await app.inject({
        url: `/timeline?limit=1&before=${page.next_cursor}`,
        headers: { authorization: alice.token }
      })
    ).json()
    t.same(
      next.timeline.map((item: { id: number }) => item.id),
      [byCarol],
      'and its cursor still moves on'
    )
    t.same(
      (await app.inject({ url: `/timeline/${alice.id}`, headers: { authorization: bob.token } }))
        .json()
        .timeline.map((item: { id: number }) => item.id),
      [byDave, byCarol, byBob],
      'only the muter’s own view of their home timeline changes'
    )
    t.equal((await app.inject({ url: `/tweet/${byBob}`, headers: { authorization: alice.token } })).statusCode, 200)
    await send('DELETE', 'mute', alice, bob.id)
    t.same(await home(), [byDave, byCarol, byBob])
  })

  t.test('muting yourself answers 400; an unknown user 404', async (t) => {
    t.equal((await send('PUT', 'mute', alice, alice.id)).statusCode, 400)
    t.equal((await send('PUT', 'mute', alice, 999_999)).statusCode, 404)
  })
})
