import t from 'tap'
import { Transactor, type PoolSettings } from '../../model/database.ts'
import { FanoutDao } from '../../model/fanout-dao.ts'
import { FollowDao } from '../../model/follow-dao.ts'
import { LikeDao } from '../../model/like-dao.ts'
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
  const fanout = new FanoutService(transactor, new FanoutDao(pool), timelineDao, fanoutSettings)
  const likes = new CountingLikeDao(pool)
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
    likes
  )
  const follows = new FollowService(transactor, followDao, timelineDao, users, storage, settings)
  const user = (name: string) =>
    users.insertUser({ name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
  return { pool, tweets, follows, users, user, fanout, likes, wakes: () => wakes }
}

/** A LikeDao that records each flags statement: the tweet ids it asked about (none: no statement). */
class CountingLikeDao extends LikeDao {
  readonly flagQueries: number[][] = []
  override likedAmong(userId: number, tweetIds: readonly number[]): Promise<Set<number>> {
    if (tweetIds.length > 0) this.flagQueries.push([...tweetIds])
    return super.likedAmong(userId, tweetIds)
  }
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

t.test('TweetService: like counts and the viewer’s flags', async (t) => {
  const { pool, tweets, follows, user, fanout, likes } = await services(t)
  const [alice, bob, carol] = [await user('alice'), await user('bob'), await user('carol')]
  await follows.follow(carol, alice)
  const posted: number[] = []
  for (let i = 0; i < 5; i++) posted.push((await tweets.tweet(alice, `alice ${i}`)).id)
  await fanout.drain()
  const like = async (userId: number, tweetId: number) => {
    await likes.like(pool, userId, tweetId)
    await likes.addLikeCount(pool, tweetId, 1)
  }
  await like(bob, posted[1])
  await like(bob, posted[3])
  await like(carol, posted[3])
  const seen = (items: { id: number; like_count: number; liked: boolean }[]) =>
    items.map((item) => [item.id, item.like_count, item.liked])

  t.test('a new tweet has no likes, and its author does not like it', async (t) => {
    const tweet = await tweets.tweet(bob, 'fresh')
    t.equal(tweet.like_count, 0)
    t.equal(tweet.liked, false)
    await tweets.deleteTweet(bob, tweet.id)
  })

  t.test('tweetById carries the count, and liked for the viewer only', async (t) => {
    t.match(await tweets.tweetById(posted[3]), { like_count: 2, liked: false }, 'no viewer: false')
    t.match(await tweets.tweetById(posted[3], bob), { like_count: 2, liked: true })
    t.match(await tweets.tweetById(posted[1], carol), { like_count: 1, liked: false })
    t.match(await tweets.tweetById(posted[0], alice), { like_count: 0, liked: false })
  })

  t.test('a timeline page carries each tweet’s count and the viewer’s flags, whoever owns it', async (t) => {
    const expected = (viewer: number | undefined) =>
      [...posted].reverse().map((id) => {
        const count = id === posted[3] ? 2 : id === posted[1] ? 1 : 0
        const liked =
          (viewer === bob && (id === posted[1] || id === posted[3])) || (viewer === carol && id === posted[3])
        return [id, count, liked]
      })
    t.same(seen((await tweets.timelineFor(carol, { limit: 20 }, bob)).items), expected(bob))
    t.same(seen((await tweets.timelineFor(carol, { limit: 20 }, carol)).items), expected(carol))
    t.same(seen((await tweets.timelineFor(carol, { limit: 20 })).items), expected(undefined))
  })

  t.test('a page asks for its flags in one statement, and only with a viewer', async (t) => {
    likes.flagQueries.length = 0
    await tweets.timelineFor(carol, { limit: 3 }, bob)
    t.same(likes.flagQueries, [[posted[4], posted[3], posted[2]]], 'one statement naming the page’s tweets')
    likes.flagQueries.length = 0
    await tweets.timelineFor(carol, { limit: 3 })
    t.same(likes.flagQueries, [], 'an anonymous page asks nothing')
    await tweets.timelineFor(bob, { limit: 3 }, bob)
    t.same(likes.flagQueries, [], 'an empty page asks nothing')
  })

  t.test('tweetsByIds answers in the order asked, deleted tweets left out, with the viewer’s flags', async (t) => {
    const gone = (await tweets.tweet(alice, 'gone')).id
    await tweets.deleteTweet(alice, gone)
    t.same(seen(await tweets.tweetsByIds([posted[1], gone, posted[3], posted[0]], bob)), [
      [posted[1], 1, true],
      [posted[3], 2, true],
      [posted[0], 0, false]
    ])
    t.same(await tweets.tweetsByIds([]), [])
  })
})
