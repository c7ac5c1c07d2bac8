// PUT and DELETE /tweet/:id/retweet, and what retweets do to tweet bodies and home timelines.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, signUpAndLogin, type TestUser } from '../helper.ts'

interface Item {
  id: number
  retweet_count: number
  retweeted: boolean
  retweeted_by: { id: number; name: string; username: string; retweet_id: number } | null
}

interface TimelinePage {
  timeline: Item[]
  next_cursor: number | null
  prev_cursor: number | null
}

/** Calls the app as one user: posts, follows, retweets, reads. */
function client(app: FastifyInstance) {
  const as = (user: TestUser) => ({ authorization: user.token })
  return {
    async tweet(user: TestUser, text: string): Promise<number> {
      const res = await app.inject({ method: 'POST', url: '/tweet', headers: as(user), payload: { tweet: text } })
      if (res.statusCode !== 200) throw new Error(`tweet failed: ${res.statusCode} ${res.body}`)
      return res.json().id
    },
    async follow(user: TestUser, target: number, follow = true): Promise<void> {
      const res = await app.inject({
        method: 'POST',
        url: follow ? '/follow' : '/unfollow',
        headers: as(user),
        payload: follow ? { follow: target } : { unfollow: target }
      })
      if (res.statusCode !== 200) throw new Error(`follow failed: ${res.statusCode} ${res.body}`)
    },
    retweet: (user: TestUser | undefined, id: number | string, method: 'PUT' | 'DELETE' = 'PUT') =>
      app.inject({ method, url: `/tweet/${id}/retweet`, headers: user ? as(user) : {} }),
    async timeline(user: TestUser, query = ''): Promise<TimelinePage> {
      const res = await app.inject({ url: `/timeline?${query}`, headers: as(user) })
      if (res.statusCode !== 200) throw new Error(`timeline failed: ${res.statusCode} ${res.body}`)
      return res.json()
    },
    /** Every item of the user's timeline, newest first: [tweet id, retweeter id or null]. */
    async shown(user: TestUser): Promise<[number, number | null][]> {
      const items: Item[] = []
      let query = 'limit=3'
      for (;;) {
        const page = await this.timeline(user, query)
        items.push(...page.timeline)
        if (page.next_cursor === null) break
        query = `limit=3&before=${page.next_cursor}`
      }
      return items.map((item) => [item.id, item.retweeted_by?.id ?? null])
    }
  }
}

t.test('PUT and DELETE /tweet/:id/retweet', async (t) => {
  const app = await buildTestApp(t)
  const api = client(app)
  const [author, bob, carol, reader] = [
    await signUpAndLogin(app, 'Author'),
    await signUpAndLogin(app, 'Bob'),
    await signUpAndLogin(app, 'Carol'),
    await signUpAndLogin(app, 'Reader')
  ]
  const original = await api.tweet(author, 'worth repeating')
  await api.follow(reader, bob.id)
  await api.follow(reader, carol.id)

  t.test('PUT answers 200 with the original tweet’s body, as GET /tweet/:id answers it', async (t) => {
    const res = await api.retweet(bob, original)
    t.equal(res.statusCode, 200)
    const read = (await app.inject({ url: `/tweet/${original}` })).json()
    t.same(res.json(), { ...read, retweeted: true }, 'the same body, but for the caller’s flag')
    t.match(res.json(), { id: original, user_id: author.id, retweet_count: 1, retweeted: true, retweeted_by: null })
    t.match(read, { retweet_count: 1, retweeted: false, retweeted_by: null }, 'anonymous: not retweeted')
  })

  t.test('retweeting twice is one retweet; undoing twice is one undo', async (t) => {
    t.match((await api.retweet(bob, original)).json(), { retweet_count: 1, retweeted: true })
    const undo = await api.retweet(bob, original, 'DELETE')
    t.equal(undo.statusCode, 200)
    t.match(undo.json(), { id: original, retweet_count: 0, retweeted: false })
    t.match((await api.retweet(bob, original, 'DELETE')).json(), { retweet_count: 0, retweeted: false })
    t.equal((await app.inject({ url: `/users/${bob.id}` })).json().tweets_count, 0, 'never one of bob’s tweets')
  })

  t.test('unknown or deleted tweets and a retweet’s own id answer 404; bad ids 400; no token 401', async (t) => {
    const gone = await api.tweet(author, 'gone')
    await app.inject({ method: 'DELETE', url: `/tweet/${gone}`, headers: { authorization: author.token } })
    await api.retweet(carol, original)
    await app.drainFanout()
    const retweetId = (await api.timeline(carol)).timeline[0].retweeted_by!.retweet_id
    t.ok(retweetId > original)
    for (const method of ['PUT', 'DELETE'] as const) {
      for (const id of [999_999, gone, retweetId]) {
        const res = await api.retweet(bob, id, method)
        t.equal(res.statusCode, 404, `${method} ${id}`)
        t.match(res.json(), { message: 'Tweet not found', tweet_id: id })
      }
      t.match((await api.retweet(bob, 'abc', method)).json(), { errors: [{ field: 'id' }] })
      t.equal((await api.retweet(bob, 0, method)).statusCode, 400)
      t.equal((await api.retweet(undefined, original, method)).statusCode, 401)
    }
    t.equal((await app.inject({ url: `/tweet/${retweetId}` })).statusCode, 404, 'GET /tweet/:id of a retweet')
    const edit = await app.inject({
      method: 'PUT',
      url: `/tweet/${retweetId}`,
      headers: { authorization: carol.token },
      payload: { tweet: 'rewritten' }
    })
    t.equal(edit.statusCode, 404, 'PUT /tweet/:id of a retweet, even by its retweeter')
    const remove = await app.inject({
      method: 'DELETE',
      url: `/tweet/${retweetId}`,
      headers: { authorization: carol.token }
    })
    t.equal(remove.statusCode, 404, 'DELETE /tweet/:id of a retweet')
    t.match((await app.inject({ url: `/tweet/${original}` })).json(), { retweet_count: 1 })
    await api.retweet(carol, original, 'DELETE')
  })

  t.test('every tweet body carries retweet_count, retweeted and retweeted_by', async (t) => {
    const posted = await app.inject({
      method: 'POST',
      url: '/tweet',
      headers: { authorization: carol.token },
      payload: { tweet: 'fresh' }
    })
    t.match(posted.json(), { retweet_count: 0, retweeted: false, retweeted_by: null })
    const edited = await app.inject({
      method: 'PUT',
      url: `/tweet/${posted.json().id}`,
      headers: { authorization: carol.token },
      payload: { tweet: 'edited' }
    })
    t.match(edited.json(), { retweet_count: 0, retweeted: false, retweeted_by: null })
  })

  t.test('a follower’s timeline shows the tweet once, placed by the retweet, naming the retweeter', async (t) => {
    const before = await api.tweet(carol, 'before the retweet')
    await api.retweet(bob, original)
    const after = await api.tweet(carol, 'after the retweet')
    await app.drainFanout()
    const page = await api.timeline(reader, 'limit=3')
    t.same(
      page.timeline.map((item) => [item.id, item.retweeted_by?.id ?? null]),
      [
        [after, null],
        [original, bob.id],
        [before, null]
      ]
    )
    const item = page.timeline[1]
    t.match(item, { id: original, tweet: 'worth repeating', user: { id: author.id, name: 'Author' } })
    t.same(item.retweeted_by, {
      id: bob.id,
      name: 'Bob',
      username: bob.username,
      retweet_id: item.retweeted_by!.retweet_id
    })
    t.ok(before < item.retweeted_by!.retweet_id && item.retweeted_by!.retweet_id < after)
    t.match(page.timeline[0], { retweeted_by: null })
    const own = await api.timeline(bob)
    t.match(own.timeline[0], { id: original, retweeted: true, retweeted_by: { id: bob.id } })
    t.match(page.timeline[1], { retweeted: false }, 'the reader has not retweeted it')
  })

  t.test('the same tweet retweeted by two followees, or by the author’s follower, shows once', async (t) => {
    await api.retweet(carol, original)
    await app.drainFanout()
    t.same(
      (await api.shown(reader)).filter(([id]) => id === original),
      [[original, bob.id]]
    )
    const fan = await signUpAndLogin(app, 'Fan')
    await api.follow(fan, author.id)
    await api.follow(fan, carol.id)
    await app.drainFanout()
    t.same(
      (await api.shown(fan)).filter(([id]) => id === original),
      [[original, null]],
      'the reader follows the author: the tweet itself'
    )
  })

  t.test('undoing a retweet takes its item away, unless another retweet still shows it', async (t) => {
    await api.retweet(bob, original, 'DELETE')
    await app.drainFanout()
    t.same(
      (await api.shown(reader)).filter(([id]) => id === original),
      [[original, carol.id]],
      'carol’s retweet takes its place'
    )
    await api.retweet(carol, original, 'DELETE')
    await app.drainFanout()
    t.same(
      (await api.shown(reader)).filter(([id]) => id === original),
      []
    )
  })

  t.test('deleting a tweet removes all its retweets and their items', async (t) => {
    const doomed = await api.tweet(author, 'doomed')
    for (const user of [bob, carol, reader]) t.equal((await api.retweet(user, doomed)).statusCode, 200)
    await app.drainFanout()
    t.ok((await api.shown(reader)).some(([id]) => id === doomed))
    await app.inject({ method: 'DELETE', url: `/tweet/${doomed}`, headers: { authorization: author.token } })
    for (const user of [reader, bob, carol]) {
      t.notOk(
        (await api.shown(user)).some(([id]) => id === doomed),
        `gone from ${user.id}’s timeline`
      )
    }
    t.equal((await api.retweet(bob, doomed, 'DELETE')).statusCode, 404)
  })

  t.test('ETags follow retweet_count, the caller’s flag and who retweeted', async (t) => {
    const tag = async (url: string, user?: TestUser) =>
      (await app.inject({ url, headers: user ? { authorization: user.token } : {} })).headers.etag
    const tweetTag = await tag(`/tweet/${original}`)
    const timelineTag = await tag('/timeline', reader)
    const bobsTag = await tag('/timeline', bob)
    await api.retweet(carol, original)
    t.not(await tag(`/tweet/${original}`), tweetTag, 'the count changed')
    await app.drainFanout()
    const withCarols = await tag('/timeline', reader)
    t.not(withCarols, timelineTag, 'a new item')
    t.equal(await tag('/timeline', bob), bobsTag, 'bob follows neither')
    await api.retweet(bob, original)
    await app.drainFanout()
    t.not(await tag('/timeline', bob), bobsTag, 'bob now shows it as his own retweet, retweeted')
    t.not(await tag('/timeline', reader), withCarols, 'the reader’s item is carol’s still, its count is not')
    await api.retweet(bob, original, 'DELETE')
    await api.retweet(carol, original, 'DELETE')
    await app.drainFanout()
  })
})

t.test('a pulled account’s retweets reach its followers through the read path', async (t) => {
  const app = await buildTestApp(t, { FANOUT_MAX_FOLLOWERS: '2' })
  const api = client(app)
  const [author, celebrity, reader] = [
    await signUpAndLogin(app, 'Author'),
    await signUpAndLogin(app, 'Celebrity'),
    await signUpAndLogin(app, 'Reader')
  ]
  for (let i = 0; i < 2; i++) await api.follow(await signUpAndLogin(app, `Fan${i}`), celebrity.id)
  await api.follow(reader, celebrity.id)
  const first = await api.tweet(author, 'first')
  const second = await api.tweet(author, 'second')
  await api.retweet(celebrity, first)
  const own = await api.tweet(celebrity, 'celebrity’s own')
  await api.retweet(celebrity, second)
  await app.drainFanout()
  t.same(await api.shown(reader), [
    [second, celebrity.id],
    [own, null],
    [first, celebrity.id]
  ])
  await api.retweet(celebrity, first, 'DELETE')
  t.same(await api.shown(reader), [
    [second, celebrity.id],
    [own, null]
  ])
})

t.test('paging both ways through retweets while tweets and retweets arrive repeats and skips nothing', async (t) => {
  const app = await buildTestApp(t)
  const api = client(app)
  const [reader, friend, other, stranger] = [
    await signUpAndLogin(app, 'Reader'),
    await signUpAndLogin(app, 'Friend'),
    await signUpAndLogin(app, 'Other'),
    await signUpAndLogin(app, 'Stranger')
  ]
  await api.follow(reader, friend.id)
  await api.follow(reader, other.id)
  /** What the reader should see, oldest first: tweet ids in the order they reached the timeline. */
  const arrived: number[] = []
  let round = 0
  /** Friends post; the friend retweets a stranger's tweet and one of other's, some twice over. */
  const arrive = async () => {
    round += 1
    const strangers = await api.tweet(stranger, `stranger ${round}`)
    arrived.push(await api.tweet(friend, `friend ${round}`))
    await api.retweet(friend, strangers)
    arrived.push(strangers)
    const others = await api.tweet(other, `other ${round}`)
    arrived.push(others)
    await api.retweet(friend, others)
    await api.retweet(other, strangers)
    await app.drainFanout()
  }
  for (let i = 0; i < 3; i++) await arrive()
  /** An item's place on the timeline: where a poll towards newer continues from. */
  const cursor = (item: Item) => item.retweeted_by?.retweet_id ?? item.id

  // Towards older, a page of 2 at a time, with new arrivals after each page: the walk sees what was
  // there when it began, each once.
  const expected = [...arrived].reverse()
  const older: number[] = []
  let page = await api.timeline(reader, 'limit=2')
  const newest = cursor(page.timeline[0])
  for (;;) {
    older.push(...page.timeline.map((item) => item.id))
    await arrive()
    if (page.next_cursor === null) break
    page = await api.timeline(reader, `limit=2&before=${page.next_cursor}`)
  }
  t.same(older, expected, 'towards older: every item once, newest first')

  // Towards newer from the newest item the walk began with: everything that arrived since, each once.
  const newer: number[] = []
  let after = newest
  for (;;) {
    const res = await api.timeline(reader, `limit=2&after=${after}`)
    newer.push(...res.timeline.map((item) => item.id).reverse())
    if (res.timeline.length > 0) after = cursor(res.timeline[0])
    if (res.prev_cursor === null) break
    t.equal(res.prev_cursor, after, 'prev_cursor is the newest item’s place')
    if (newer.length % 6 === 0) await arrive()
  }
  t.same(newer, arrived.slice(expected.length), 'towards newer: every later item once, oldest first')
})

t.test('with a token, public reads carry the caller’s retweeted flags; without one they are false', async (t) => {
  const app = await buildTestApp(t)
  const api = client(app)
  const [reader, friend] = [await signUpAndLogin(app, 'Reader'), await signUpAndLogin(app, 'Friend')]
  await api.follow(reader, friend.id)
  const ids = [await api.tweet(friend, 'one'), await api.tweet(friend, 'two')]
  await app.drainFanout()
  await api.retweet(reader, ids[0])
  const flags = (items: Item[]) => items.map((item) => [item.id, item.retweeted, item.retweet_count])
  const expected = [
    [ids[1], false, 0],
    [ids[0], true, 1]
  ]
  t.same(flags((await api.timeline(reader)).timeline), expected, 'GET /timeline')
  const as = { authorization: reader.token }
  t.same(
    flags((await app.inject({ url: `/timeline/${reader.id}`, headers: as })).json<TimelinePage>().timeline),
    expected,
    'GET /timeline/:user_id with a token'
  )
  t.same(
    flags((await app.inject({ url: `/users/${friend.id}/tweets`, headers: as })).json<{ tweets: Item[] }>().tweets),
    expected,
    'GET /users/:user_id/tweets with a token'
  )
  t.match((await app.inject({ url: `/tweet/${ids[0]}`, headers: as })).json(), { retweeted: true })
  t.same(
    (await app.inject({ url: `/timeline/${reader.id}` })).json<TimelinePage>().timeline.map((item) => item.retweeted),
    [false, false],
    'anonymous'
  )
})

t.test('a retweet’s id is no tweet to likes, replies, threads or its retweeter’s tweets', async (t) => {
  const app = await buildTestApp(t)
  const api = client(app)
  const [author, fan] = [await signUpAndLogin(app, 'Author'), await signUpAndLogin(app, 'Fan')]
  const original = await api.tweet(author, 'original')
  await api.retweet(fan, original)
  const retweetId = (await api.timeline(fan)).timeline[0].retweeted_by!.retweet_id
  const as = { authorization: fan.token }
  const notFound = [
    await app.inject({ method: 'PUT', url: `/tweet/${retweetId}/like`, headers: as }),
    await app.inject({ method: 'DELETE', url: `/tweet/${retweetId}/like`, headers: as }),
    await app.inject({ url: `/tweet/${retweetId}/likes` }),
    await app.inject({ url: `/tweet/${retweetId}/context` }),
    await app.inject({ method: 'POST', url: '/tweet', headers: as, payload: { tweet: 're', in_reply_to: retweetId } })
  ]
  t.same(
    notFound.map((res) => res.statusCode),
    [404, 404, 404, 404, 404]
  )
  const own = await api.tweet(fan, 'the fan’s own')
  const listed = (await app.inject({ url: `/users/${fan.id}/tweets` })).json<{ tweets: Item[] }>().tweets
  t.same(
    listed.map((item) => item.id),
    [own],
    'an author’s tweets leave its retweets out'
  )
  t.equal((await app.inject({ url: `/users/${fan.id}` })).json().tweets_count, 1)
  t.match((await app.inject({ url: `/tweet/${original}/context` })).json(), { ancestors: [], descendants: [] })
})
