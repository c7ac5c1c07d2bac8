import t, { type Test } from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import { Transactor, type PoolSettings } from '../../model/database.ts'
import { FanoutDao } from '../../model/fanout-dao.ts'
import { FollowDao } from '../../model/follow-dao.ts'
import { TimelineDao } from '../../model/timeline-dao.ts'
import { TweetDao } from '../../model/tweet-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { Forbidden, Invalid, NotFound, Unauthorized } from '../../service/errors.ts'
import { FanoutService } from '../../service/fanout-service.ts'
import { FollowService } from '../../service/follow-service.ts'
import { maxTweetLength } from '../../service/limits.ts'
import { LocalStorage } from '../../service/storage/local.ts'
import type { Page } from '../../service/page.ts'
import { TweetService, type TweetItem } from '../../service/tweet-service.ts'
import { rowsRead, testPool, testPublicUrl, testUploadDir } from '../helper.ts'

async function services(
  t: { teardown(fn: () => unknown): void },
  settings = { fanoutMaxFollowers: 1000, timelineBackfill: 800 },
  fanoutSettings = { chunkSize: 1000, leaseMs: 10_000, claimBatch: 10 },
  poolSettings: PoolSettings = {}
) {
  const pool = await testPool(t, poolSettings)
  const storage = new LocalStorage(await testUploadDir(t), testPublicUrl)
  const users = new UserDao(pool)
  const followDao = new FollowDao(pool)
  const timelineDao = new TimelineDao(pool)
  const transactor = new Transactor(pool)
  const fanoutDao = new FanoutDao(pool)
  const fanout = new FanoutService(transactor, fanoutDao, timelineDao, fanoutSettings)
  let wakes = 0
  const waker = { wake: () => void (wakes += 1) }
  const tweets = new TweetService(
    transactor,
    new TweetDao(pool),
    timelineDao,
    users,
    followDao,
    storage,
    undefined,
    waker,
    fanoutDao
  )
  const follows = new FollowService(transactor, followDao, timelineDao, users, storage, settings)
  const user = (name: string) =>
    users.insertUser({ name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
  return { pool, tweets, follows, users, user, fanout, wakes: () => wakes }
}

/** Every page of a timeline, following next_cursor. */
async function allPages(tweets: TweetService, userId: number, limit: number): Promise<TweetItem[]> {
  const items: TweetItem[] = []
  let before: number | undefined
  for (;;) {
    const page = await tweets.timelineFor(userId, { limit, before })
    items.push(...page.items)
    if (page.next_cursor === null) return items
    before = page.next_cursor
  }
}

t.test('TweetService', async (t) => {
  const { tweets, follows, users, user, fanout, wakes } = await services(t)
  const alice = await user('alice')
  const bob = await user('bob')

  t.test('tweet returns the stored tweet with its author, counts it and wakes the fan-out', async (t) => {
    const tweet = await tweets.tweet(alice, 'hello')
    t.match(tweet, {
      user_id: alice,
      tweet: 'hello',
      edited_at: null,
      user: { id: alice, name: 'alice', profile_picture: null },
      media: []
    })
    t.ok(tweet.created_at instanceof Date)
    t.same(await tweets.tweetById(tweet.id), tweet, 'the answer equals a read-back')
    t.match(await users.profileById(alice), { tweets_count: 1 })
    t.equal(wakes(), 1)
  })

  t.test('a tweet by an account deleted after its token was issued is Unauthorized and records nothing', async (t) => {
    await t.rejects(tweets.tweet(999999, 'ghost'), Unauthorized)
    t.equal(wakes(), 1)
  })

  t.test('timelineFor merges followed users, newest first, within the limit', async (t) => {
    await follows.follow(alice, bob)
    const fromBob = await tweets.tweet(bob, 'from bob')
    t.same(
      (await tweets.timelineFor(alice, { limit: 20 })).items.map((item) => item.tweet),
      ['hello'],
      'not before the fan-out'
    )
    await fanout.drain()
    const page = await tweets.timelineFor(alice, { limit: 20 })
    t.same(
      page.items.map((item) => item.tweet),
      ['from bob', 'hello']
    )
    t.equal(page.items[0].id, fromBob.id)
    t.equal(page.next_cursor, null)
    const first = await tweets.timelineFor(alice, { limit: 1 })
    t.same(
      first.items.map((item) => item.tweet),
      ['from bob']
    )
    t.equal(first.next_cursor, fromBob.id)
  })

  t.test('only the author edits or deletes a tweet', async (t) => {
    const tweet = await tweets.tweet(bob, 'mine')
    await t.rejects(tweets.editTweet(alice, tweet.id, 'hacked'), Forbidden)
    await t.rejects(tweets.deleteTweet(alice, tweet.id), Forbidden)
    await t.rejects(tweets.editTweet(alice, 999999, 'x'), NotFound)
    const edited = await tweets.editTweet(bob, tweet.id, 'edited')
    t.equal(edited.tweet, 'edited')
    t.ok(edited.edited_at instanceof Date)
    await tweets.deleteTweet(bob, tweet.id)
    await t.rejects(tweets.tweetById(tweet.id), NotFound)
    t.notOk((await tweets.timelineFor(alice, { limit: 100 })).items.some((item) => item.id === tweet.id))
  })

  t.test('a text over maxTweetLength code points, or only white space, is Invalid and stores nothing', async (t) => {
    const before = (await users.profileById(alice))!.tweets_count
    const tooLong = new Invalid(`A tweet must be at most ${maxTweetLength} characters`, { field: 'tweet' })
    const empty = new Invalid('A tweet must not be empty', { field: 'tweet' })
    await t.rejects(tweets.tweet(alice, 'x'.repeat(maxTweetLength + 1)), tooLong)
    await t.rejects(tweets.tweet(alice, '🎉'.repeat(maxTweetLength + 1)), tooLong)
    await t.rejects(tweets.tweet(alice, ' \n\t'), empty)
    t.equal((await users.profileById(alice))!.tweets_count, before)
    const full = await tweets.tweet(alice, '🎉'.repeat(maxTweetLength))
    t.equal(full.tweet, '🎉'.repeat(maxTweetLength), 'code points are counted, not UTF-16 units')
    await t.rejects(tweets.editTweet(alice, full.id, 'y'.repeat(maxTweetLength + 1)), tooLong)
    await t.rejects(tweets.editTweet(alice, full.id, '   '), empty)
    t.equal((await tweets.tweetById(full.id)).edited_at, null, 'the tweet is unchanged')
    await tweets.deleteTweet(alice, full.id)
  })

  t.test('timelineFor an unknown user is NotFound', async (t) => {
    await t.rejects(tweets.timelineFor(999999, { limit: 20 }), NotFound)
  })
})

t.test('the timeline equals the follow graph’s answer under every fan-out path', async (t) => {
  // Tiny limits force every path: 'pull' accounts, horizons from bounded backfill, graph fallback, and
  // fan-out in chunks of one follower that runs a batch at a time, so follows, unfollows and deletes
  // land while tweets are still being copied.
  const { tweets, follows, user, fanout } = await services(
    t,
    { fanoutMaxFollowers: 3, timelineBackfill: 2 },
    { chunkSize: 1, leaseMs: 10_000, claimBatch: 1 }
  )
  const ids: number[] = []
  for (let i = 0; i < 7; i++) ids.push(await user(`u${i}`))
  const following = new Map(ids.map((id) => [id, new Set<number>()]))
  const posted: { id: number; author: number }[] = []
  let seed = 42
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed % n
  }
  for (let step = 0; step < 160; step++) {
    const actor = ids[random(ids.length)]
    const target = ids[random(ids.length)]
    const roll = random(12)
    if (roll >= 10) {
      await fanout.runOnce()
    } else if (roll < 5) {
      posted.push({ id: (await tweets.tweet(actor, `step ${step}`)).id, author: actor })
    } else if (roll < 8 && actor !== target) {
      await follows.follow(actor, target)
      following.get(actor)!.add(target)
    } else if (roll < 9 && actor !== target) {
      await follows.unfollow(actor, target)
      following.get(actor)!.delete(target)
    } else if (posted.length > 0) {
      const victim = posted.splice(random(posted.length), 1)[0]
      await tweets.deleteTweet(victim.author, victim.id)
    }
  }
  await fanout.drain()
  for (const id of ids) {
    const expected = posted
      .filter((p) => p.author === id || following.get(id)!.has(p.author))
      .map((p) => p.id)
      .sort((a, b) => b - a)
    const seen = (await allPages(tweets, id, 3)).map((item) => item.id)
    t.same(seen, expected, `timeline of user ${id}`)
  }
})

/**
 * What a page may cost the database: a handful of row reads (index entry, tweet, author) for each
 * of `limit + 1` tweets from each source (the timeline table, each account read directly).
 */
const pageBound = (limit: number, accounts: number) => 8 * (limit + 1) * (accounts + 1)

t.test('timeline reads stay bounded by the page, not by older tweets', async (t) => {
  const { pool, tweets, follows, users, user, fanout } = await services(
    t,
    { fanoutMaxFollowers: 1000, timelineBackfill: 5 },
    undefined,
    { connectionLimit: 1 }
  )
  const [stranger, friend, prolific] = [await user('stranger'), await user('friend'), await user('prolific')]
  const posted = async (author: number, count: number) => {
    const ids: number[] = []
    for (let i = 0; i < count; i++) ids.push((await tweets.tweet(author, `${author} ${i}`)).id)
    return ids
  }
  // Old tweets by someone nobody here follows: what a scan below a horizon used to read.
  const friendsOld = await posted(friend, 2)
  await posted(stranger, 300)
  const prolifics = await posted(prolific, 20)
  const friendsNew = await posted(friend, 2)

  t.test('follow an account with more tweets than the backfill, unfollow it: the next read is O(limit)', async (t) => {
    const newcomer = await user('newcomer')
    await follows.follow(newcomer, prolific)
    t.ok((await users.timelineState(newcomer))!.timeline_horizon > 0, 'the bounded backfill left a gap')
    await follows.unfollow(newcomer, prolific)
    t.match(await users.timelineState(newcomer), { timeline_horizon: 0 }, 'unfollowing removed it')
    let page: Page<TweetItem> | undefined
    const rows = await rowsRead(pool, async () => (page = await tweets.timelineFor(newcomer, { limit: 20 })))
    t.same(page, { items: [], next_cursor: null, prev_cursor: null })
    t.ok(rows <= pageBound(20, 0), `${rows} rows read for an empty timeline (at most ${pageBound(20, 0)})`)
  })

  t.test('paging to the last page across a gap returns every tweet once, each page bounded', async (t) => {
    const reader = await user('reader')
    const own = await posted(reader, 2)
    await follows.follow(reader, friend)
    await follows.follow(reader, prolific)
    await fanout.drain()
    t.ok((await users.timelineState(reader))!.timeline_horizon > 0)
    const expected = [...friendsOld, ...prolifics, ...friendsNew, ...own].sort((a, b) => b - a)
    const seen: number[] = []
    let before: number | undefined
    for (;;) {
      let page: Page<TweetItem> | undefined
      const rows = await rowsRead(pool, async () => (page = await tweets.timelineFor(reader, { limit: 5, before })))
      t.ok(
        rows <= pageBound(5, 2),
        `${rows} rows read for the page below ${before ?? 'the newest'} (at most ${pageBound(5, 2)})`
      )
      seen.push(...page!.items.map((item) => item.id))
      if (page!.next_cursor === null) break
      before = page!.next_cursor
    }
    t.same(seen, expected)

    // And back, towards newer from the oldest: the same tweets, each page as bounded.
    const newer: number[] = []
    let after = 0
    for (;;) {
      let page: Page<TweetItem> | undefined
      const rows = await rowsRead(pool, async () => (page = await tweets.timelineFor(reader, { limit: 5, after })))
      t.ok(rows <= pageBound(5, 2), `${rows} rows read for the page above ${after} (at most ${pageBound(5, 2)})`)
      newer.push(...page!.items.map((item) => item.id).reverse())
      if (page!.prev_cursor === null) break
      after = page!.prev_cursor
    }
    t.same(newer, [...expected].reverse(), 'towards newer: every tweet once, oldest to newest')
  })
})

t.test('with many gaps, pages stay exact and bounded, whether the graph walk fills them or not', async (t) => {
  const { pool, tweets, follows, user } = await services(
    t,
    { fanoutMaxFollowers: 1000, timelineBackfill: 1 },
    undefined,
    { connectionLimit: 1 }
  )
  const reader = await user('reader')
  const stranger = await user('stranger')
  const accounts: number[] = []
  for (let i = 0; i < 110; i++) accounts.push(await user(`account ${i}`))
  const expected: number[] = []
  const round = async (name: string) => {
    for (const account of accounts) expected.push((await tweets.tweet(account, name)).id)
  }
  await round('old')
  // A stretch with no timeline tweet: pages crossing it are not filled by the walk, and fall back.
  for (let i = 0; i < 500; i++) await tweets.tweet(stranger, `stranger ${i}`)
  await round('middle')
  await round('new')
  // Each follow copies the account's newest tweet only: 110 gaps, more than a page can use.
  for (const account of accounts) await follows.follow(reader, account)
  const limit = 3
  const bound = pageBound(limit, accounts.length)
  const seen: number[] = []
  let before: number | undefined
  for (;;) {
    let page: Page<TweetItem> | undefined
    const rows = await rowsRead(pool, async () => (page = await tweets.timelineFor(reader, { limit, before })))
    t.ok(rows <= bound, `${rows} rows read for the page below ${before ?? 'the newest'} (at most ${bound})`)
    seen.push(...page!.items.map((item) => item.id))
    if (page!.next_cursor === null) break
    before = page!.next_cursor
  }
  t.same(
    seen,
    expected.sort((a, b) => b - a)
  )

  const newer: number[] = []
  let after = 0
  for (;;) {
    let page: Page<TweetItem> | undefined
    const rows = await rowsRead(pool, async () => (page = await tweets.timelineFor(reader, { limit, after })))
    t.ok(rows <= bound, `${rows} rows read for the page above ${after} (at most ${bound})`)
    newer.push(...page!.items.map((item) => item.id).reverse())
    if (page!.prev_cursor === null) break
    after = page!.prev_cursor
  }
  t.same(newer, [...expected].reverse(), 'towards newer across every gap: every tweet once, oldest to newest')
})

t.test('FollowService', async (t) => {
  const { follows, user } = await services(t)
  const alice = await user('alice')
  const bob = await user('bob')

  t.test('follow rules: not yourself, only existing users, idempotent', async (t) => {
    await t.rejects(follows.follow(alice, alice), Invalid)
    await t.rejects(follows.follow(alice, 999999), NotFound)
    await t.rejects(follows.unfollow(alice, 999999), NotFound)
    await follows.follow(alice, bob)
    await follows.follow(alice, bob)
    t.same(
      (await follows.followers(bob, { limit: 10 })).items.map((u) => u.id),
      [alice]
    )
    await follows.unfollow(alice, bob)
    await follows.unfollow(alice, bob)
    t.same((await follows.followers(bob, { limit: 10 })).items, [])
  })

  t.test('follow lists of an unknown user are NotFound', async (t) => {
    await t.rejects(follows.followers(999999, { limit: 10 }), NotFound)
    await t.rejects(follows.following(999999, { limit: 10 }), NotFound)
  })
})

/** What a timeline shows, newest first: [tweet id, retweeter id or null] per item, across every page. */
async function shownOn(tweets: TweetService, userId: number, limit = 100): Promise<[number, number | null][]> {
  return (await allPages(tweets, userId, limit)).map((item) => [item.id, item.retweeted_by?.id ?? null])
}

t.test('retweets', async (t) => {
  const { pool, tweets, follows, users, user, fanout, wakes } = await services(t)
  const [author, bob, carol, reader] = [
    await user('author'),
    await user('bob'),
    await user('carol'),
    await user('reader')
  ]
  const original = await tweets.tweet(author, 'worth repeating')
  await follows.follow(reader, bob)
  await follows.follow(reader, carol)
  const retweetRows = async (id: number) => {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT id, user_id FROM tweets WHERE retweet_of = ? ORDER BY id',
      [id]
    )
    return rows.map((row) => ({ id: row.id as number, user_id: row.user_id as number }))
  }

  t.test('retweet is idempotent: one row, the count once, answered as the caller sees it', async (t) => {
    const woken = wakes()
    const first = await tweets.retweet(bob, original.id)
    t.match(first, { id: original.id, tweet: 'worth repeating', retweet_count: 1, retweeted: true, retweeted_by: null })
    const second = await tweets.retweet(bob, original.id)
    t.match(second, { retweet_count: 1, retweeted: true })
    t.equal((await retweetRows(original.id)).length, 1)
    t.equal(wakes(), woken + 1, 'only a new retweet wakes the fan-out')
    t.match(await tweets.tweetById(original.id), { retweet_count: 1, retweeted: false }, 'anonymous')
    t.match(await tweets.tweetById(original.id, bob), { retweeted: true })
    t.match(await tweets.tweetById(original.id, carol), { retweeted: false })
    t.match(await users.profileById(bob), { tweets_count: 0 }, 'a retweet is not one of the retweeter’s tweets')
  })

  t.test('unretweet is idempotent too', async (t) => {
    t.match(await tweets.unretweet(bob, original.id), { retweet_count: 0, retweeted: false })
    t.match(await tweets.unretweet(bob, original.id), { retweet_count: 0, retweeted: false })
    t.same(await retweetRows(original.id), [])
    t.match(await tweets.unretweet(carol, original.id), { retweet_count: 0 }, 'never retweeted: nothing changes')
  })

  t.test(
    'unknown and deleted tweets, and a retweet’s own id, are NotFound; a deleted account Unauthorized',
    async (t) => {
      const gone = await tweets.tweet(author, 'gone')
      await tweets.deleteTweet(author, gone.id)
      await tweets.retweet(carol, original.id)
      const [retweet] = await retweetRows(original.id)
      for (const id of [999_999, gone.id, retweet.id]) {
        await t.rejects(tweets.retweet(bob, id), NotFound, `retweet ${id}`)
        await t.rejects(tweets.unretweet(bob, id), NotFound, `unretweet ${id}`)
      }
      await t.rejects(tweets.tweetById(retweet.id), NotFound, 'not read as a tweet')
      await t.rejects(tweets.editTweet(carol, retweet.id, 'rewritten'), NotFound, 'not edited')
      await t.rejects(tweets.deleteTweet(carol, retweet.id), NotFound, 'not deleted as a tweet')
      await t.rejects(tweets.retweet(999_999, original.id), Unauthorized)
      t.match(await tweets.tweetById(original.id), { retweet_count: 1 })
      await tweets.unretweet(carol, original.id)
    }
  )

  t.test('a follower sees the retweeted tweet once, placed by the retweet, with who retweeted it', async (t) => {
    const older = await tweets.tweet(carol, 'carol, before the retweet')
    await fanout.drain()
    await tweets.retweet(bob, original.id)
    const newer = await tweets.tweet(carol, 'carol, after the retweet')
    t.same(await shownOn(tweets, reader), [[older.id, null]], 'not before the fan-out')
    await fanout.drain()
    t.same(await shownOn(tweets, reader), [
      [newer.id, null],
      [original.id, bob],
      [older.id, null]
    ])
    const [retweet] = await retweetRows(original.id)
    const page = await tweets.timelineFor(reader, { limit: 2 })
    t.match(page.items[1], {
      id: original.id,
      user: { id: author, name: 'author' },
      retweeted_by: { id: bob, name: 'bob', retweet_id: retweet.id }
    })
    t.equal(page.next_cursor, retweet.id, 'the retweet’s row is the cursor')
    t.same(
      (await tweets.timelineFor(reader, { limit: 2, before: page.next_cursor! })).items.map((item) => item.id),
      [older.id]
    )
    t.same(await shownOn(tweets, bob), [[original.id, bob]], 'on the retweeter’s own timeline too')
  })

  t.test('a second followee’s retweet, or following the author, shows nothing again', async (t) => {
    await tweets.retweet(carol, original.id)
    await fanout.drain()
    t.same(
      (await shownOn(tweets, reader)).filter(([id]) => id === original.id),
      [[original.id, bob]]
    )
    const fan = await user('fan')
    await follows.follow(fan, author)
    await follows.follow(fan, bob)
    await fanout.drain()
    t.same(await shownOn(tweets, fan), [[original.id, null]], 'the reader follows the author: the original')
  })

  t.test('undoing one of two retweets leaves the other; undoing the last takes the tweet away', async (t) => {
    const [, byCarol] = await retweetRows(original.id)
    await tweets.unretweet(bob, original.id)
    t.notOk(
      (await shownOn(tweets, reader)).some(([id]) => id === original.id),
      'until the worker restores it'
    )
    await fanout.drain()
    t.same(
      (await shownOn(tweets, reader)).filter(([id]) => id === original.id),
      [[original.id, carol]]
    )
    t.equal((await tweets.timelineFor(reader, { limit: 100 })).items[0].retweeted_by?.retweet_id, byCarol.id)
    await tweets.unretweet(carol, original.id)
    await fanout.drain()
    t.notOk((await shownOn(tweets, reader)).some(([id]) => id === original.id))
    t.same(await shownOn(tweets, bob), [], 'the retweeter’s own timeline too')
  })

  t.test('a timeline that follows the author keeps the tweet when the retweet that showed it goes', async (t) => {
    const late = await user('late')
    await follows.follow(late, bob)
    await tweets.retweet(bob, original.id)
    await fanout.drain()
    await follows.follow(late, author)
    t.same(await shownOn(tweets, late), [[original.id, bob]], 'the retweet came first')
    await tweets.unretweet(bob, original.id)
    await fanout.drain()
    t.same(await shownOn(tweets, late), [[original.id, null]], 'the original is back')
    await tweets.retweet(bob, original.id)
    await tweets.retweet(late, original.id)
    await fanout.drain()
    await follows.unfollow(late, author)
    t.same(await shownOn(tweets, late), [[original.id, late]], 'after an unfollow: the reader’s own retweet')
    await tweets.unretweet(late, original.id)
    t.same(await shownOn(tweets, late), [[original.id, bob]], 'then bob’s')
    await follows.unfollow(late, bob)
    t.same(await shownOn(tweets, late), [])
    await tweets.unretweet(bob, original.id)
    await fanout.drain()
  })

  t.test('deleting a tweet removes every retweet of it and their timeline items', async (t) => {
    const doomed = await tweets.tweet(author, 'doomed')
    await tweets.retweet(bob, doomed.id)
    await tweets.retweet(carol, doomed.id)
    await tweets.retweet(reader, doomed.id)
    await fanout.drain()
    t.ok((await shownOn(tweets, reader)).some(([id]) => id === doomed.id))
    await tweets.deleteTweet(author, doomed.id)
    t.same(await retweetRows(doomed.id), [])
    for (const owner of [reader, bob, carol, author]) {
      t.notOk(
        (await shownOn(tweets, owner)).some(([id]) => id === doomed.id),
        `gone from ${owner}’s timeline`
      )
    }
  })

  t.test('a retweet of one’s own tweet shows it once on one’s own timeline', async (t) => {
    const own = await tweets.tweet(carol, 'my own')
    t.match(await tweets.retweet(carol, own.id), { retweet_count: 1, retweeted: true })
    await fanout.drain()
    t.same(
      (await shownOn(tweets, carol)).filter(([id]) => id === own.id),
      [[own.id, null]]
    )
    t.same(
      (await shownOn(tweets, reader)).filter(([id]) => id === own.id),
      [[own.id, null]]
    )
    await tweets.unretweet(carol, own.id)
    await fanout.drain()
    t.same(
      (await shownOn(tweets, reader)).filter(([id]) => id === own.id),
      [[own.id, null]],
      'undoing it leaves the tweet'
    )
  })
})

t.test('a pulled account’s retweets reach its followers through the read path', async (t) => {
  const { tweets, follows, user, fanout } = await services(t, { fanoutMaxFollowers: 2, timelineBackfill: 800 })
  const [author, celebrity, reader] = [await user('author'), await user('celebrity'), await user('reader')]
  for (let i = 0; i < 2; i++) await follows.follow(await user(`fan ${i}`), celebrity)
  await follows.follow(reader, celebrity)
  const first = await tweets.tweet(author, 'first')
  const second = await tweets.tweet(author, 'second')
  const own = await tweets.tweet(reader, 'the reader’s')
  await tweets.retweet(celebrity, first.id)
  const byCelebrity = await tweets.tweet(celebrity, 'celebrity’s own')
  await tweets.retweet(celebrity, second.id)
  await fanout.drain()
  t.same(await shownOn(tweets, reader, 2), [
    [second.id, celebrity],
    [byCelebrity.id, null],
    [first.id, celebrity],
    [own.id, null]
  ])
  await follows.follow(reader, author)
  t.same(
    (await tweets.timelineFor(reader, { limit: 100 })).items.map((item) => [item.id, item.retweeted_by?.id ?? null]),
    [
      [second.id, celebrity],
      [byCelebrity.id, null],
      [first.id, celebrity],
      [own.id, null]
    ],
    'within a page, a tweet the table holds and a pulled retweet repeats is shown once, where it is newest'
  )
  await tweets.unretweet(celebrity, first.id)
  t.same(
    (await tweets.timelineFor(reader, { limit: 100 })).items.map((item) => [item.id, item.retweeted_by?.id ?? null]),
    [
      [second.id, celebrity],
      [byCelebrity.id, null],
      [own.id, null],
      [first.id, null]
    ],
    'undone: the original, as the table holds it'
  )
})

t.test('the timeline equals the follow and retweet graphs’ answer, each tweet once', async (t) => {
  // Every account pushed and no gap: the table alone answers, and no tweet may show twice in a timeline.
  // Fan-out goes one follower per chunk, a row at a time, so follows, retweets and their undoing land
  // while copies and restores are still under way.
  const { tweets, follows, user, fanout } = await services(
    t,
    { fanoutMaxFollowers: 1000, timelineBackfill: 800 },
    { chunkSize: 1, leaseMs: 10_000, claimBatch: 1 }
  )
  const graph = await randomGraph(t, tweets, follows, user, fanout, 220)
  for (const id of graph.ids) {
    const seen = (await allPages(tweets, id, 3)).map((item) => item.id)
    t.same(new Set(seen).size, seen.length, `timeline of user ${id}: no tweet twice`)
    t.same([...seen].sort(), graph.expected(id).sort(), `timeline of user ${id}: every tweet it should show`)
  }
})

t.test('with pulled accounts and gaps, a timeline still shows every tweet it should and no other', async (t) => {
  // Pulled accounts' and gapped accounts' rows are read at read time: a tweet may show on two pages.
  const { tweets, follows, user, fanout } = await services(
    t,
    { fanoutMaxFollowers: 3, timelineBackfill: 2 },
    { chunkSize: 1, leaseMs: 10_000, claimBatch: 1 }
  )
  const graph = await randomGraph(t, tweets, follows, user, fanout, 220)
  for (const id of graph.ids) {
    const seen = (await allPages(tweets, id, 3)).map((item) => item.id)
    t.same([...new Set(seen)].sort(), graph.expected(id).sort(), `timeline of user ${id}`)
  }
})

/**
 * Random posts, follows, unfollows, retweets, undone retweets and deletes among 7 users, with fan-out
 * running now and then; then the rest of it. A timeline should show every live tweet by its owner or a
 * followee, and every live tweet its owner or a followee retweeted.
 */
async function randomGraph(
  t: Test,
  tweets: TweetService,
  follows: FollowService,
  user: (name: string) => Promise<number>,
  fanout: FanoutService,
  steps: number
) {
  const ids: number[] = []
  for (let i = 0; i < 7; i++) ids.push(await user(`u${i}`))
  const following = new Map(ids.map((id) => [id, new Set<number>()]))
  const posted = new Map<number, number>()
  const retweeted = new Map(ids.map((id) => [id, new Set<number>()]))
  let seed = 7
  // The high bits: an LCG's low bits repeat with a short period.
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return Math.floor((seed / 2 ** 31) * n)
  }
  const somePost = () => [...posted.keys()][random(posted.size)]
  let retweets = 0
  for (let step = 0; step < steps; step++) {
    const actor = ids[random(ids.length)]
    const target = ids[random(ids.length)]
    const roll = random(16)
    if (roll >= 14) {
      await fanout.runOnce()
    } else if (roll < 4) {
      posted.set((await tweets.tweet(actor, `step ${step}`)).id, actor)
    } else if (roll < 7 && actor !== target) {
      await follows.follow(actor, target)
      following.get(actor)!.add(target)
    } else if (roll < 8 && actor !== target) {
      await follows.unfollow(actor, target)
      following.get(actor)!.delete(target)
    } else if (roll < 11 && posted.size > 0) {
      const id = somePost()
      await tweets.retweet(actor, id)
      retweeted.get(actor)!.add(id)
      retweets += 1
    } else if (roll < 13 && retweeted.get(actor)!.size > 0) {
      const mine = [...retweeted.get(actor)!]
      const id = mine[random(mine.length)]
      await tweets.unretweet(actor, id)
      retweeted.get(actor)!.delete(id)
    } else if (roll < 14 && posted.size > 0) {
      const id = somePost()
      await tweets.deleteTweet(posted.get(id)!, id)
      posted.delete(id)
      for (const mine of retweeted.values()) mine.delete(id)
    }
  }
  await fanout.drain()
  t.ok(retweets > 20, `${retweets} retweets`)
  return {
    ids,
    expected(owner: number): number[] {
      const sources = new Set([owner, ...following.get(owner)!])
      const shown = new Set<number>()
      for (const [id, author] of posted) if (sources.has(author)) shown.add(id)
      for (const source of sources) for (const id of retweeted.get(source)!) shown.add(id)
      return [...shown]
    }
  }
}

t.test('retweets and their undoing from many connections keep retweet_count exact', async (t) => {
  const { pool, tweets, user } = await services(t, undefined, undefined, { connectionLimit: 10 })
  const author = await user('author')
  const target = await tweets.tweet(author, 'contested')
  const retweeters: number[] = []
  for (let i = 0; i < 12; i++) retweeters.push(await user(`r${i}`))
  let seed = 3
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return Math.floor((seed / 2 ** 31) * n)
  }
  const operations = Array.from({ length: 240 }, () => {
    const who = retweeters[random(retweeters.length)]
    return random(2) === 0 ? () => tweets.retweet(who, target.id) : () => tweets.unretweet(who, target.id)
  })
  await Promise.all(
    Array.from({ length: 10 }, async (_, lane) => {
      for (let i = lane; i < operations.length; i += 10) await operations[i]()
    })
  )
  const [[rows]] = await Promise.all([
    pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM tweets WHERE retweet_of = ?', [target.id])
  ])
  const count = (await tweets.tweetById(target.id)).retweet_count
  t.equal(count, Number(rows[0].n), `retweet_count ${count} equals the retweets stored`)
  t.ok(count > 0 && count < retweeters.length, 'the lanes raced on both sides')
})

t.test('the retweeted flags of a page cost one statement, however many items it holds', async (t) => {
  const { pool, tweets, follows, user, fanout } = await services(t, undefined, undefined, { connectionLimit: 1 })
  const [reader, friend] = [await user('reader'), await user('friend')]
  await follows.follow(reader, friend)
  const statements = async (work: () => Promise<unknown>) => {
    const selects = async () => {
      const [rows] = await pool.query<RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Com_select'")
      return Number(rows[0].Value)
    }
    const before = await selects()
    await work()
    return (await selects()) - before
  }
  const first = await tweets.tweet(friend, 'one')
  await tweets.retweet(reader, first.id)
  await fanout.drain()
  const one = await statements(() => tweets.timelineFor(reader, { limit: 20 }, reader))
  const anonymous = await statements(() => tweets.timelineFor(reader, { limit: 20 }))
  t.equal(one, anonymous + 1, 'a viewer costs one statement more')
  for (let i = 0; i < 20; i++) {
    const posted = await tweets.tweet(friend, `more ${i}`)
    if (i % 2) await tweets.retweet(reader, posted.id)
  }
  await fanout.drain()
  let page: Page<TweetItem> | undefined
  t.equal(await statements(async () => (page = await tweets.timelineFor(reader, { limit: 20 }, reader))), one)
  t.equal(page!.items.length, 20)
  t.same(
    page!.items.map((item) => item.retweeted),
    page!.items.map((item) => item.retweet_count === 1),
    'the flags are right'
  )
})
