// Notifications through HTTP: what each action notifies, what never does, removal with the source, the
// unread count and the read mark, paging both ways.
import t, { type Test } from 'tap'
import { appFor, signUpAndLogin, testConfig, type TestUser } from '../helper.ts'

interface Notification {
  id: number
  type: string
  account: { id: number; username: string }
  tweet: { id: number; tweet: string } | null
}

async function setUp(t: Test) {
  const app = await appFor(await testConfig(t))
  t.teardown(() => app.close())
  await app.ready()
  const as = (user: TestUser) => ({ authorization: user.token })
  const post = async (user: TestUser, tweet: string, in_reply_to?: number) =>
    (await app.inject({ method: 'POST', url: '/tweet', headers: as(user), payload: { tweet, in_reply_to } })).json()
      .id as number
  const act = (user: TestUser, method: 'PUT' | 'DELETE' | 'POST', url: string, payload?: object) =>
    app.inject({ method, url, headers: as(user), payload })
  const list = async (user: TestUser, query = '') => {
    const res = await app.inject({ url: `/notifications${query}`, headers: as(user) })
    if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
    return res.json<{
      notifications: Notification[]
      next_cursor: number | null
      prev_cursor: number | null
      unread_count: number
    }>()
  }
  const summary = async (user: TestUser) =>
    (await list(user)).notifications.map((n) => [n.type, n.account.id, n.tweet?.id ?? null])
  return { app, as, post, act, list, summary }
}

t.test('GET /notifications', async (t) => {
  const { app, post, act, list, summary } = await setUp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')
  const carol = await signUpAndLogin(app, 'Carol')
  const tweet = await post(alice, 'alice speaks')

  t.test('a follow, a like, a retweet and a reply each notify the one they concern', async (t) => {
    await act(bob, 'POST', '/follow', { follow: alice.id })
    await act(bob, 'PUT', `/tweet/${tweet}/like`)
    await act(carol, 'PUT', `/tweet/${tweet}/retweet`)
    const reply = await post(carol, 'carol answers', tweet)
    const page = await list(alice)
    t.same(
      page.notifications.map((n) => [n.type, n.account.id, n.tweet?.id ?? null]),
      [
        ['reply', carol.id, reply],
        ['retweet', carol.id, tweet],
        ['like', bob.id, tweet],
        ['follow', bob.id, null]
      ]
    )
    t.match(page.notifications[0], {
      account: { id: carol.id, name: 'Carol', username: carol.username, profile_picture: null },
      tweet: { id: reply, tweet: 'carol answers', in_reply_to: tweet }
    })
    t.equal(page.unread_count, 4)
    t.same(await summary(bob), [], 'the actors hear nothing')
  })

  t.test('never for your own actions', async (t) => {
    await act(alice, 'PUT', `/tweet/${tweet}/like`)
    await act(alice, 'PUT', `/tweet/${tweet}/retweet`)
    await post(alice, 'answering myself', tweet)
    t.equal((await list(alice)).unread_count, 4)
    await act(alice, 'DELETE', `/tweet/${tweet}/like`)
    await act(alice, 'DELETE', `/tweet/${tweet}/retweet`)
  })

  t.test('liking twice notifies once; an unlike takes it back, and an undone retweet and unfollow too', async (t) => {
    await act(bob, 'PUT', `/tweet/${tweet}/like`)
    t.equal((await list(alice)).unread_count, 4)
    await act(bob, 'DELETE', `/tweet/${tweet}/like`)
    await act(carol, 'DELETE', `/tweet/${tweet}/retweet`)
    await act(bob, 'POST', '/unfollow', { unfollow: alice.id })
    const left = await summary(alice)
    t.same(
      left.map(([type]) => type),
      ['reply']
    )
    t.equal((await list(alice)).unread_count, 1)
  })

  t.test('deleting the reply takes its notification', async (t) => {
    const [[, , reply]] = await summary(alice)
    await act(carol, 'DELETE', `/tweet/${reply}`)
    t.same(await summary(alice), [])
    t.equal((await list(alice)).unread_count, 0)
  })

  t.test('a mention notifies the named user with the tweet; an edit naming them again does not', async (t) => {
    const posted = await app.inject({
      method: 'POST',
      url: '/tweet',
      headers: { authorization: bob.token },
      payload: { tweet: `hi @${alice.username.toUpperCase()} and @nobody_at_all` }
    })
    t.equal(posted.statusCode, 200)
    const mentioning = posted.json()
    t.same(
      mentioning.mentions,
      [{ id: alice.id, username: alice.username }],
      'case-insensitive; unknown names are text'
    )
    t.same(await summary(alice), [['mention', bob.id, mentioning.id]])
    t.match((await list(alice)).notifications[0].tweet, { id: mentioning.id, tweet: mentioning.tweet })
    const edited = await act(bob, 'PUT', `/tweet/${mentioning.id}`, { tweet: `still @${alice.username}` })
    t.same(edited.json().mentions, [{ id: alice.id, username: alice.username }])
    t.same(await summary(alice), [['mention', bob.id, mentioning.id]], 'not twice')
    await act(bob, 'DELETE', `/tweet/${mentioning.id}`)
    t.same(await summary(alice), [], 'the deleted tweet takes it')
  })

  t.test('none from someone you block or who blocks you or whom you mute; a block or mute clears theirs', async (t) => {
    await act(bob, 'POST', '/follow', { follow: alice.id })
    await act(carol, 'PUT', `/tweet/${tweet}/like`)
    t.equal((await list(alice)).unread_count, 2)
    await act(alice, 'PUT', `/users/${bob.id}/block`)
    await act(alice, 'PUT', `/users/${carol.id}/mute`)
    t.same(await summary(alice), [], 'what they had sent is gone')
    await act(carol, 'DELETE', `/tweet/${tweet}/like`)
    await act(carol, 'PUT', `/tweet/${tweet}/like`)
    await act(carol, 'POST', '/follow', { follow: alice.id })
    t.same(await summary(alice), [], 'the muted user’s new actions notify nothing')
    const carolTweet = await post(carol, 'carol speaks')
    await act(alice, 'PUT', `/tweet/${carolTweet}/like`)
    t.same(await summary(carol), [['like', alice.id, carolTweet]], 'a mute is one way')
    await act(alice, 'DELETE', `/users/${bob.id}/block`)
    await act(alice, 'DELETE', `/users/${carol.id}/mute`)
    await act(carol, 'DELETE', `/tweet/${tweet}/like`)
    await act(carol, 'POST', '/unfollow', { unfollow: alice.id })
  })

  t.test('a token is required; bad paging answers 400', async (t) => {
    t.equal((await app.inject({ url: '/notifications' })).statusCode, 401)
    const bad = await app.inject({ url: '/notifications?limit=0', headers: { authorization: alice.token } })
    t.equal(bad.statusCode, 400)
    t.type(bad.json().message, 'string')
  })
})

t.test('the unread count and POST /notifications/read', async (t) => {
  const { app, post, act, list } = await setUp(t)
  const alice = await signUpAndLogin(app, 'Alice')
  const fans = await Promise.all(Array.from({ length: 8 }, (_, i) => signUpAndLogin(app, `Fan${i}`)))
  const tweet = await post(alice, 'popular')

  t.test('actions at once each count exactly once', async (t) => {
    await Promise.all(
      fans.flatMap((fan) => [act(fan, 'PUT', `/tweet/${tweet}/like`), act(fan, 'PUT', `/tweet/${tweet}/like`)])
    )
    await Promise.all(fans.map((fan) => act(fan, 'POST', '/follow', { follow: alice.id })))
    const page = await list(alice, '?limit=100')
    t.equal(page.notifications.length, 16)
    t.equal(page.unread_count, 16)
  })

  t.test('reading up to an id leaves what is newer unread; the mark never moves back', async (t) => {
    const ids = (await list(alice, '?limit=100')).notifications.map((n) => n.id)
    const res = await act(alice, 'POST', '/notifications/read', { up_to: ids[5] })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { unread_count: 5 })
    t.same((await act(alice, 'POST', '/notifications/read', { up_to: ids[10] })).json(), { unread_count: 5 })
    t.equal((await list(alice)).unread_count, 5)
    t.same((await act(alice, 'POST', '/notifications/read', { up_to: ids[0] })).json(), { unread_count: 0 })
    await act(fans[0], 'POST', '/unfollow', { unfollow: alice.id })
    await act(fans[0], 'POST', '/follow', { follow: alice.id })
    t.equal((await list(alice)).unread_count, 1, 'a new one is unread')
  })

  t.test('bad bodies answer 400 naming the field', async (t) => {
    for (const payload of [{}, { up_to: 0 }, { up_to: 'x' }, { up_to: 1.5 }]) {
      const res = await act(alice, 'POST', '/notifications/read', payload)
      t.equal(res.statusCode, 400)
      t.match(res.json(), { message: /up_to/ })
    }
  })

  t.test('pages both ways like timelines', async (t) => {
    const all = (await list(alice, '?limit=100')).notifications.map((n) => n.id)
    const first = await list(alice, '?limit=5')
    t.same(
      first.notifications.map((n) => n.id),
      all.slice(0, 5)
    )
    t.equal(first.next_cursor, all[4])
    const second = await list(alice, `?limit=5&before=${first.next_cursor}`)
    t.same(
      second.notifications.map((n) => n.id),
      all.slice(5, 10)
    )
    const newer = await list(alice, `?limit=3&after=${all[8]}`)
    t.same(
      newer.notifications.map((n) => n.id),
      all.slice(5, 8)
    )
  })
})
