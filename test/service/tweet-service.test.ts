import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import { Transactor, type PoolSettings } from '../../model/database.ts'
import { BlockDao } from '../../model/block-dao.ts'
import { FanoutDao } from '../../model/fanout-dao.ts'
import { NotificationDao } from '../../model/notification-dao.ts'
import { FollowDao } from '../../model/follow-dao.ts'
import { LikeDao } from '../../model/like-dao.ts'
import { MediaDao } from '../../model/media-dao.ts'
import { PendingObjectDao } from '../../model/pending-object-dao.ts'
import { TimelineDao } from '../../model/timeline-dao.ts'
import type { RowCacheOptions } from '../../model/row-cache.ts'
import { TweetDao, tweetCacheEntries } from '../../model/tweet-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { Forbidden, Invalid, NotFound, Unauthorized } from '../../service/errors.ts'
import { FanoutService } from '../../service/fanout-service.ts'
import { FollowService } from '../../service/follow-service.ts'
import {
  maxThreadAncestors,
  maxThreadDepth,
  maxThreadDescendants,
  maxMentions,
  maxTweetLength,
  threadScanRows
} from '../../service/limits.ts'
import { LocalStorage } from '../../service/storage/local.ts'
import type { Page } from '../../service/page.ts'
import { MediaService } from '../../service/media-service.ts'
import { TweetService, type ThreadItem, type TweetItem, type TweetMediaSource } from '../../service/tweet-service.ts'
import { pngBytes } from '../../scripts/support/uploads.ts'
import { ConsistencyDao, noViolations } from '../consistency.ts'
import { rowsRead, testPool, testPublicUrl, testUploadDir } from '../helper.ts'

async function services(
  t: { teardown(fn: () => unknown): void },
  settings = { fanoutMaxFollowers: 1000, timelineBackfill: 800 },
  fanoutSettings = { chunkSize: 1000, leaseMs: 10_000, claimBatch: 10 },
  poolSettings: PoolSettings = {},
  tweetCache: RowCacheOptions = { ttlMs: 0, maxEntries: tweetCacheEntries }
) {
  const pool = await testPool(t, poolSettings)
  const storage = new LocalStorage(await testUploadDir(t), testPublicUrl)
  const users = new UserDao(pool)
  const followDao = new FollowDao(pool)
  const timelineDao = new TimelineDao(pool)
  const transactor = new Transactor(pool)
  const fanoutDao = new FanoutDao(pool)
  const fanout = new FanoutService(transactor, fanoutDao, timelineDao, fanoutSettings)
  const likes = new LikeDao(pool)
  const tweetDao = new CountingTweetDao(pool, pool, tweetCache)
  let wakes = 0
  const waker = { wake: () => void (wakes += 1) }
  const notifications = new NotificationDao(pool)
  const tweets = new TweetService(
    transactor,
    tweetDao,
    timelineDao,
    users,
    followDao,
    storage,
    undefined,
    waker,
    fanoutDao,
    notifications
  )
  const follows = new FollowService(
    transactor,
    followDao,
    new BlockDao(pool),
    notifications,
    timelineDao,
    users,
    storage,
    settings
  )
  const user = (name: string) =>
    users.insertUser({ name, username: name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
  return { pool, tweets, tweetDao, follows, users, user, fanout, likes, notifications, wakes: () => wakes }
}

/**
 * A TweetDao that records each flags statement: the tweet ids it asked about (none: no statement). It
 * passes every argument on, so blocks and mutes still hide tweets here.
 */
class CountingTweetDao extends TweetDao {
  readonly flagQueries: number[][] = []
  /** For each flags statement, the tweets whose `retweeted` flag it asked. */
  readonly retweetedAsked: number[][] = []
  override viewerFlags(...args: Parameters<TweetDao['viewerFlags']>) {
    const [, tweetIds, retweetedIds] = args
    if (tweetIds.length + retweetedIds.length > 0) {
      this.flagQueries.push([...tweetIds])
      this.retweetedAsked.push([...retweetedIds])
    }
    return super.viewerFlags(...args)
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
      user: { id: alice, name: 'alice', username: 'alice', profile_picture: null },
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

  t.test('follow rules: not yourself, only existing users, idempotent; refusals name the field or user', async (t) => {
    await t.rejects(follows.follow(alice, alice), new Invalid('You cannot follow yourself', { field: 'follow' }))
    await t.rejects(follows.unfollow(alice, alice), new Invalid('You cannot unfollow yourself', { field: 'unfollow' }))
    await t.rejects(follows.follow(alice, 999999), new NotFound('User not found', { user_id: 999999 }))
    await t.rejects(follows.unfollow(alice, 999999), new NotFound('User not found', { user_id: 999999 }))
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

  t.test('follow lists of an unknown user are NotFound naming it', async (t) => {
    const notFound = new NotFound('User not found', { user_id: 999999 })
    await t.rejects(follows.followers(999999, { limit: 10 }), notFound)
    await t.rejects(follows.following(999999, { limit: 10 }), notFound)
  })
})

t.test('FollowService: an account turns from push to pull fan-out past fanoutMaxFollowers', async (t) => {
  const { pool, tweets, follows, user, fanout } = await services(t, { fanoutMaxFollowers: 2, timelineBackfill: 800 })
  const star = await user('star')
  const fans = [await user('fan0'), await user('fan1'), await user('fan2')]
  const fanoutOf = async () => {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT fanout FROM users WHERE id = ?', [star])
    return rows[0].fanout as string
  }
  const pulledBy = async () => {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT user_id FROM pulled_follows WHERE follow_user_id = ? ORDER BY user_id',
      [star]
    )
    return rows.map((row) => row.user_id as number)
  }

  t.test('pushed up to fanoutMaxFollowers followers; the next follow turns every follow into a pull', async (t) => {
    await follows.follow(fans[0], star)
    await follows.follow(fans[1], star)
    t.equal(await fanoutOf(), 'push', 'exactly at the limit: still pushed')
    t.same(await pulledBy(), [])
    await follows.follow(fans[2], star)
    t.equal(await fanoutOf(), 'pull')
    t.same(await pulledBy(), fans)
  })

  t.test('a pulled account’s new follower is pulled too, though unfollows took it back under the limit', async (t) => {
    await follows.unfollow(fans[0], star)
    await follows.unfollow(fans[1], star)
    const newcomer = await user('newcomer')
    await follows.follow(newcomer, star)
    t.equal(await fanoutOf(), 'pull', 'an account does not turn back')
    t.same(await pulledBy(), [fans[2], newcomer])
    const news = await tweets.tweet(star, 'for the pulled')
    await fanout.drain()
    t.equal((await tweets.timelineFor(newcomer, { limit: 1 })).items[0]?.id, news.id, 'read from the account')
    t.equal((await new ConsistencyDao(pool).violations()).pulled_follows_mismatch, 0)
  })
})

t.test('TweetService: like counts and the viewer’s flags', async (t) => {
  const { pool, tweets, tweetDao, follows, user, fanout, likes } = await services(t)
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
    tweetDao.flagQueries.length = 0
    await tweets.timelineFor(carol, { limit: 3 }, bob)
    t.same(tweetDao.flagQueries, [[posted[4], posted[3], posted[2]]], 'one statement naming the page’s tweets')
    tweetDao.flagQueries.length = 0
    await tweets.timelineFor(carol, { limit: 3 })
    t.same(tweetDao.flagQueries, [], 'an anonymous page asks nothing')
    await tweets.timelineFor(bob, { limit: 3 }, bob)
    t.same(tweetDao.flagQueries, [], 'an empty page asks nothing')
  })

  t.test('the retweeted flag is asked only of the page’s tweets that someone retweeted', async (t) => {
    await tweets.retweet(carol, posted[2])
    tweetDao.retweetedAsked.length = 0
    const page = await tweets.timelineFor(alice, { limit: 3 }, bob)
    t.same(
      page.items.map((item) => item.id),
      [posted[4], posted[3], posted[2]]
    )
    t.same(tweetDao.retweetedAsked, [[posted[2]]])
    await tweets.unretweet(carol, posted[2])
    tweetDao.retweetedAsked.length = 0
    await tweets.timelineFor(alice, { limit: 3 }, bob)
    t.same(tweetDao.retweetedAsked, [[]], 'nobody retweeted them: none')
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

/** A thread as ids, each with its parent and whether it is shown as deleted. */
const links = (items: ThreadItem[]) =>
  items.map((item) => ({ id: item.id, in_reply_to: item.in_reply_to, deleted: 'deleted' in item }))
const live = (id: number, inReplyTo: number | null) => ({ id, in_reply_to: inReplyTo, deleted: false })
const gone = (id: number, inReplyTo: number | null) => ({ id, in_reply_to: inReplyTo, deleted: true })

t.test('replies', async (t) => {
  const { pool, tweets, follows, users, user, fanout } = await services(t)
  const consistency = new ConsistencyDao(pool)
  const [alice, bob] = [await user('alice'), await user('bob')]
  const root = await tweets.tweet(alice, 'root')

  t.test('a reply names its parent and is counted on it; a tweet answering none has null', async (t) => {
    t.match(root, { in_reply_to: null, reply_count: 0 })
    const reply = await tweets.tweet(bob, 'reply', [], root.id)
    t.match(reply, { user_id: bob, tweet: 'reply', in_reply_to: root.id, reply_count: 0 })
    t.same(await tweets.tweetById(reply.id), reply, 'the answer equals a read-back')
    t.equal((await tweets.tweetById(root.id)).reply_count, 1)
    const deeper = await tweets.tweet(alice, 'deeper', [], reply.id)
    t.equal((await tweets.tweetById(reply.id)).reply_count, 1)
    t.equal((await tweets.tweetById(root.id)).reply_count, 1, 'only direct replies count')
    await tweets.deleteTweet(alice, deeper.id)
    await tweets.deleteTweet(bob, reply.id)
  })

  t.test('a reply is a tweet: on its author’s timeline at once, on followers’ after the fan-out', async (t) => {
    await follows.follow(alice, bob)
    const reply = await tweets.tweet(bob, 'seen by followers', [], root.id)
    t.equal((await tweets.timelineFor(bob, { limit: 1 })).items[0].id, reply.id)
    await fanout.drain()
    t.match((await tweets.timelineFor(alice, { limit: 1 })).items[0], { id: reply.id, in_reply_to: root.id })
    t.match(await users.profileById(bob), { tweets_count: 1 })
    await tweets.deleteTweet(bob, reply.id)
    await follows.unfollow(alice, bob)
  })

  t.test('a reply to an unknown or deleted tweet is NotFound and records nothing', async (t) => {
    const deleted = await tweets.tweet(alice, 'soon gone')
    await tweets.deleteTweet(alice, deleted.id)
    const before = await users.profileById(bob)
    for (const parent of [999_999, deleted.id]) {
      await t.rejects(
        tweets.tweet(bob, 'to nothing', [], parent),
        new NotFound('The tweet in_reply_to names does not exist', { in_reply_to: parent })
      )
    }
    t.same(await users.profileById(bob), before)
    t.same(await tweets.tweetsBy(bob, { limit: 10 }), { items: [], next_cursor: null, prev_cursor: null })
  })

  t.test('deleting a reply takes it off its parent’s count; deleting the parent leaves its replies', async (t) => {
    const parent = await tweets.tweet(alice, 'parent')
    const first = await tweets.tweet(bob, 'first', [], parent.id)
    const second = await tweets.tweet(bob, 'second', [], parent.id)
    t.equal((await tweets.tweetById(parent.id)).reply_count, 2)
    await tweets.deleteTweet(bob, first.id)
    t.equal((await tweets.tweetById(parent.id)).reply_count, 1)
    await tweets.deleteTweet(alice, parent.id)
    t.match(await tweets.tweetById(second.id), { id: second.id, in_reply_to: parent.id, tweet: 'second' })
    await tweets.deleteTweet(bob, second.id)
    t.same(await consistency.violations(), noViolations)
  })

  t.test('a reply to a tweet by an account deleted after its token was issued is Unauthorized', async (t) => {
    await t.rejects(tweets.tweet(999_999, 'ghost', [], root.id), Unauthorized)
    await t.rejects(tweets.tweet(999_999, 'ghost', [], 999_999), Unauthorized, 'before the missing parent')
    t.equal((await tweets.tweetById(root.id)).reply_count, 0)
  })
})

t.test('a parent read from the cache shows its new reply_count at once after a reply or a delete', async (t) => {
  const { tweets, user } = await services(t, undefined, undefined, {}, { ttlMs: 60_000, maxEntries: 100 })
  const alice = await user('alice')
  const parent = await tweets.tweet(alice, 'parent')
  const countOnTimeline = async () =>
    (await tweets.timelineFor(alice, { limit: 10 })).items.find((item) => item.id === parent.id)!.reply_count
  t.equal(await countOnTimeline(), 0, 'now in the cache')
  const reply = await tweets.tweet(alice, 'reply', [], parent.id)
  t.equal(await countOnTimeline(), 1)
  await tweets.deleteTweet(alice, reply.id)
  t.equal(await countOnTimeline(), 0)
})

t.test('the erasure steps make the cache forget the tweets they remove and the counts they change', async (t) => {
  const { tweets, user } = await services(t, undefined, undefined, {}, { ttlMs: 60_000, maxEntries: 100 })
  const alice = await user('alice')
  const gone = await user('gone')
  const parent = await tweets.tweet(alice, 'parent')
  const reply = await tweets.tweet(gone, 'reply', [], parent.id)
  await tweets.retweet(gone, parent.id)
  // tweetsByIds reads through the cache (tweetById always reads the table).
  const cached = async () => await tweets.tweetsByIds([parent.id, reply.id])
  t.match(await cached(), [{ id: parent.id, reply_count: 1, retweet_count: 1 }, { id: reply.id }], 'now cached')
  t.equal(await tweets.removeRetweetsBy(gone, 10), 1)
  t.match(await cached(), [{ id: parent.id, reply_count: 1, retweet_count: 0 }, { id: reply.id }])
  t.equal(await tweets.deleteTweetsBy(gone, 10), 1)
  t.match(await cached(), [{ id: parent.id, reply_count: 0, retweet_count: 0 }], 'the reply is gone')
  t.equal((await cached()).length, 1)
})

t.test('concurrent replies and deletes on many connections leave every count exact', async (t) => {
  const { pool, tweets, users, user } = await services(t, undefined, undefined, { connectionLimit: 10 })
  const consistency = new ConsistencyDao(pool)
  const authors: number[] = []
  for (let i = 0; i < 6; i++) authors.push(await user(`writer${i}`))
  const root = await tweets.tweet(authors[0], 'root')
  const parent = await tweets.tweet(authors[1], 'parent', [], root.id)
  const early: TweetItem[] = []
  for (let i = 0; i < 20; i++) early.push(await tweets.tweet(authors[i % 6], `early ${i}`, [], parent.id))

  t.test('replies posted and deleted at once: the parent counts exactly the live ones', async (t) => {
    const posting = Array.from({ length: 60 }, (_, i) => tweets.tweet(authors[i % 6], `at once ${i}`, [], parent.id))
    const deleting = early.slice(0, 15).map((reply) => tweets.deleteTweet(reply.user_id, reply.id))
    const [posted] = await Promise.all([Promise.all(posting), Promise.all(deleting)])
    t.equal(posted.length, 60)
    t.equal((await tweets.tweetById(parent.id)).reply_count, 60 + 20 - 15)
    t.same(await consistency.violations(), noViolations)
  })

  t.test('replies racing the parent’s delete: each is stored before it, or refused after it', async (t) => {
    const doomed = await tweets.tweet(authors[2], 'doomed', [], root.id)
    const rootCount = (await tweets.tweetById(root.id)).reply_count
    // Ten replies ahead of the delete and twenty behind it in the pool's queue: usually some of each win.
    const reply = (i: number) => tweets.tweet(authors[i % 6], `racing ${i}`, [], doomed.id)
    const ahead = Array.from({ length: 10 }, (_, i) => reply(i))
    const deleting = tweets.deleteTweet(authors[2], doomed.id)
    const behind = Array.from({ length: 20 }, (_, i) => reply(10 + i))
    const [outcomes] = await Promise.all([Promise.allSettled([...ahead, ...behind]), deleting])
    const stored = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []))
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []))
    t.ok(
      refused.every((reason) => reason instanceof NotFound),
      `${stored.length} replies stored, ${refused.length} refused as NotFound`
    )
    t.equal((await tweets.tweetById(root.id)).reply_count, rootCount - 1)
    for (const reply of stored) t.equal((await tweets.tweetById(reply.id)).in_reply_to, doomed.id)
    const context = await tweets.context(root.id)
    t.same(
      links(context.descendants).filter((link) => link.id === doomed.id),
      stored.length > 0 ? [gone(doomed.id, root.id)] : [],
      'the deleted parent stays as a placeholder while a reply hangs on it'
    )
    t.same(await consistency.violations(), noViolations)
    t.match(await users.profileById(authors[2]), {
      tweets_count: (await tweets.tweetsBy(authors[2], { limit: 100 })).items.length
    })
  })
})

t.test('context', async (t) => {
  const { tweets, user } = await services(t)
  const [alice, bob] = [await user('alice'), await user('bob')]
  const post = async (text: string, parent: number | null = null, author = alice) =>
    (await tweets.tweet(author, text, [], parent)).id
  // A branching thread whose age order is not its thread order.
  const root = await post('root')
  const a = await post('a', root, bob)
  const b = await post('b', root)
  const a1 = await post('a1', a)
  const b1 = await post('b1', b, bob)
  const a2 = await post('a2', a)
  const a1a = await post('a1a', a1, bob)
  const c = await post('c', root)
  const elsewhere = await post('another thread')

  t.test('descendants come depth first, oldest first among siblings; ancestors oldest first', async (t) => {
    const context = await tweets.context(root)
    t.same(context.ancestors, [])
    t.same(links(context.descendants), [
      live(a, root),
      live(a1, a),
      live(a1a, a1),
      live(a2, a),
      live(b, root),
      live(b1, b),
      live(c, root)
    ])
    t.same(context.descendants[0], await tweets.tweetById(a), 'each tweet as GET /tweet/:id shows it')
    t.match(context.descendants[0], { user: { id: bob, name: 'bob' }, reply_count: 2 })
    const ofA1 = await tweets.context(a1)
    t.same(links(ofA1.ancestors), [live(root, null), live(a, root)])
    t.same(links(ofA1.descendants), [live(a1a, a1)])
    t.same(links((await tweets.context(b1)).ancestors), [live(root, null), live(b, root)])
    t.same(await tweets.context(elsewhere), { ancestors: [], descendants: [] })
  })

  t.test('an unknown or deleted tweet has no context: NotFound', async (t) => {
    await t.rejects(tweets.context(999_999), new NotFound('Tweet not found', { tweet_id: 999_999 }))
    const gonePost = await post('gone')
    await tweets.deleteTweet(alice, gonePost)
    await t.rejects(tweets.context(gonePost), NotFound)
  })

  t.test('a deleted tweet stays as a placeholder where it holds up the thread, and only there', async (t) => {
    await tweets.deleteTweet(bob, a)
    await tweets.deleteTweet(alice, c)
    t.same(
      links((await tweets.context(root)).descendants),
      [gone(a, root), live(a1, a), live(a1a, a1), live(a2, a), live(b, root), live(b1, b)],
      'a deleted reply with replies is a placeholder; a deleted leaf is left out'
    )
    t.same((await tweets.context(root)).descendants[0], { id: a, in_reply_to: root, deleted: true })
    t.same(links((await tweets.context(a1a)).ancestors), [live(root, null), gone(a, root), live(a1, a)])
    await tweets.deleteTweet(alice, root)
    t.same(
      links((await tweets.context(a1a)).ancestors),
      [gone(root, null), gone(a, root), live(a1, a)],
      'a deleted root is shown from its id, which its replies keep'
    )
    t.same(links((await tweets.context(a2)).ancestors), [gone(root, null), gone(a, root)])
    await tweets.deleteTweet(bob, a1a)
    await tweets.deleteTweet(alice, a1)
    await tweets.deleteTweet(alice, a2)
    t.same(
      links((await tweets.context(b)).ancestors),
      [gone(root, null)],
      'what no longer holds anything up is still an ancestor'
    )
    t.same(links((await tweets.context(b)).descendants), [live(b1, b)])
  })
})

t.test('context caps: ancestors, depth and descendants', async (t) => {
  const { pool, tweets, user } = await services(t)
  const alice = await user('alice')
  const tweetDao = new TweetDao(pool)
  /** A chain of replies below `parent`, through the DAO for speed; the ids, oldest first. */
  const chain = async (parent: number, length: number) => {
    const ids: number[] = []
    for (let i = 0, above = parent; i < length; i++) {
      above = (await tweetDao.postTweet(alice, `link ${i}`, above))!.id
      ids.push(above)
    }
    return ids
  }

  t.test(`past ${maxThreadAncestors} ancestors the oldest are left out`, async (t) => {
    const root = (await tweets.tweet(alice, 'long chain')).id
    const links_ = await chain(root, maxThreadAncestors + 1)
    const context = await tweets.context(links_.at(-1)!)
    t.same(
      links(context.ancestors),
      links_.slice(0, -1).map((id, i) => live(id, i === 0 ? root : links_[i - 1])),
      `the nearest ${maxThreadAncestors}; the first names its parent`
    )
    t.equal(context.ancestors.length, maxThreadAncestors)
  })

  t.test(`replies more than ${maxThreadDepth} levels below are left out`, async (t) => {
    const root = (await tweets.tweet(alice, 'deep chain')).id
    const deep = await chain(root, maxThreadDepth + 2)
    t.same(
      (await tweets.context(root)).descendants.map((item) => item.id),
      deep.slice(0, maxThreadDepth)
    )
    t.same(
      (await tweets.context(deep[0])).descendants.map((item) => item.id),
      deep.slice(1, maxThreadDepth + 1),
      'the depth counts from the tweet asked for'
    )
  })

  t.test(`past ${maxThreadDescendants} descendants the youngest are left out`, async (t) => {
    const root = (await tweets.tweet(alice, 'popular')).id
    const first = (await tweetDao.postTweet(alice, 'first', root))!.id
    const replies: number[] = [first]
    for (let i = 1; i < maxThreadDescendants; i++) {
      replies.push((await tweetDao.postTweet(alice, `reply ${i}`, i % 2 ? first : root))!.id)
    }
    const late = (await tweetDao.postTweet(alice, 'one too many', first))!.id
    const shown = (await tweets.context(root)).descendants.map((item) => item.id)
    t.equal(shown.length, maxThreadDescendants)
    t.same(
      [...shown].sort((x, y) => x - y),
      replies,
      'the oldest ones, whole: each shown with its parent'
    )
    t.notOk(shown.includes(late))
    t.equal((await tweets.tweetById(first)).reply_count, maxThreadDescendants / 2 + 1, 'its count tells there are more')
  })
})

t.test(`descendants are found among the ${threadScanRows} tweets of the conversation that follow`, async (t) => {
  const { pool, tweets, users, user } = await services(t, undefined, undefined, { connectionLimit: 1 })
  const alice = await user('alice')
  const root = (await tweets.tweet(alice, 'busy thread')).id
  const early = (await tweets.tweet(alice, 'an early reply', [], root)).id
  const answer = (await tweets.tweet(alice, 'answered in time', [], early)).id
  // Many other replies to the root, written in one statement with their counters.
  const others = 20 * threadScanRows
  const rows = Array.from({ length: others }, (_, i) => [answer + 1 + i, alice, `other ${i}`, root, root])
  await pool.query('INSERT INTO tweets (id, user_id, tweet, in_reply_to, conversation_id) VALUES ?', [rows])
  await pool.query('UPDATE tweets SET reply_count = reply_count + ? WHERE id = ?', [others, root])
  await users.addTweetsCount(pool, alice, others)
  const late = (await tweets.tweet(alice, 'answered too late', [], early)).id

  let context: Awaited<ReturnType<TweetService['context']>> | undefined
  const read = await rowsRead(pool, async () => (context = await tweets.context(early)))
  t.same(links(context!.descendants), [live(answer, early)], 'the late answer is past the window')
  t.equal((await tweets.tweetById(early)).reply_count, 2, 'its count tells there is more')
  t.ok(read <= 8 * threadScanRows, `${read} rows read in a conversation of ${others + 4} tweets`)
  t.same(
    (await tweets.context(late)).ancestors.map((item) => item.id),
    [root, early],
    'ancestors have no window'
  )
  const fromRoot = await rowsRead(pool, async () => (context = await tweets.context(root)))
  t.equal(context!.descendants.length, maxThreadDescendants)
  t.ok(fromRoot <= 8 * threadScanRows, `${fromRoot} rows read from the root`)
})

t.test('tweetsBy pages an author’s own tweets and replies, newest first, to the end', async (t) => {
  const { tweets, user } = await services(t)
  const [alice, bob] = [await user('alice'), await user('bob')]
  const bobs = await tweets.tweet(bob, 'bob’s')
  const ids: number[] = []
  for (let i = 0; i < 5; i++) {
    ids.push((await tweets.tweet(alice, `alice ${i}`, [], i % 2 ? bobs.id : null)).id)
    await tweets.tweet(bob, `bob ${i}`)
  }
  const deleted = ids.splice(2, 1)[0]
  await tweets.deleteTweet(alice, deleted)
  const [newest, second, third, oldest] = [...ids].reverse()

  const first = await tweets.tweetsBy(alice, { limit: 2 })
  t.same(
    first.items.map((item) => [item.id, item.in_reply_to]),
    [
      [newest, null],
      [second, bobs.id]
    ]
  )
  t.equal(first.next_cursor, second)
  const next = await tweets.tweetsBy(alice, { limit: 2, before: second })
  t.same(
    next.items.map((item) => item.id),
    [third, oldest]
  )
  t.equal(next.next_cursor, null, 'a last page exactly full has no cursor')
  t.same(await tweets.tweetsBy(alice, { limit: 2, before: oldest }), {
    items: [],
    next_cursor: null,
    prev_cursor: null
  })
  t.same(await tweets.tweetsBy(await user('quiet'), { limit: 20 }), { items: [], next_cursor: null, prev_cursor: null })
  await t.rejects(tweets.tweetsBy(999_999, { limit: 20 }), new NotFound('User not found', { user_id: 999_999 }))
  await t.rejects(tweets.tweetsBy(alice, { limit: 0 }), Invalid)
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
      user: { id: author, name: 'author', username: 'author' },
      retweeted_by: { id: bob, name: 'bob', username: 'bob', retweet_id: retweet.id }
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

t.test(
  'the retweeted flags of a page cost one statement, however many items it holds, none if nobody retweeted them',
  async (t) => {
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
    await fanout.drain()
    const anonymous = await statements(() => tweets.timelineFor(reader, { limit: 20 }))
    const unretweeted = await statements(() => tweets.timelineFor(reader, { limit: 20 }, reader))
    t.equal(unretweeted, anonymous + 1, 'one statement asks the like flags and the blocks')
    await tweets.retweet(reader, first.id)
    const one = await statements(() => tweets.timelineFor(reader, { limit: 20 }, reader))
    t.equal(one, anonymous + 1, 'the same one statement asks the retweet flags too')
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
  }
)

t.test('mentions', async (t) => {
  const { tweets, follows, user, notifications } = await services(t)
  const [alice, bob, carol, dave] = [await user('alice'), await user('bob'), await user('carol'), await user('dave')]
  const mentionsOf = async (userId: number) =>
    (await notifications.page(userId, { after: 0, before: Number.MAX_SAFE_INTEGER, oldestFirst: false }, 100))
      .filter((row) => row.type === 'mention')
      .map((row) => [row.actor_id, row.tweet_id])

  t.test('existing users named as @username, once each, in the text’s order, spelled as chosen', async (t) => {
    const text = 'hey @CAROL and @alice, @carol again, @nobody_here, mail bob@alice.com, @al, @alice_'
    const posted = await tweets.tweet(bob, text)
    const expected = [
      { id: carol, username: 'carol' },
      { id: alice, username: 'alice' }
    ]
    t.same(posted.mentions, expected, 'an unknown name, an email, a too short and a longer name are text')
    t.same((await tweets.tweetById(posted.id)).mentions, expected, 'read back the same')
    t.same(await mentionsOf(alice), [[bob, posted.id]], 'each named user is notified once')
    t.same(await mentionsOf(carol), [[bob, posted.id]])
    t.same(await mentionsOf(bob), [], 'nobody else')
    t.same((await tweets.tweet(bob, 'no names here')).mentions, [])
  })

  t.test('editing recomputes them, and notifies only who is named anew', async (t) => {
    const posted = await tweets.tweet(alice, 'hello @bob')
    t.same(await mentionsOf(bob), [[alice, posted.id]])
    const edited = await tweets.editTweet(alice, posted.id, 'hello @bob and @dave')
    t.same(edited.mentions, [
      { id: bob, username: 'bob' },
      { id: dave, username: 'dave' }
    ])
    await tweets.editTweet(alice, posted.id, 'hello @Dave, @BOB')
    t.same(await mentionsOf(bob), [[alice, posted.id]], 'named again: not notified twice')
    t.same(await mentionsOf(dave), [[alice, posted.id]], 'named anew: notified once')
    const cleared = await tweets.editTweet(alice, posted.id, 'hello nobody')
    t.same(cleared.mentions, [])
    t.same((await tweets.tweetById(posted.id)).mentions, [])
  })

  t.test('a reply naming the replied-to author notifies them once, as a reply', async (t) => {
    const parent = await tweets.tweet(carol, 'a question')
    const reply = await tweets.tweet(dave, '@carol here is an answer', [], parent.id)
    t.same(reply.mentions, [{ id: carol, username: 'carol' }])
    t.notOk(
      (await mentionsOf(carol)).some(([, tweetId]) => tweetId === reply.id),
      'no mention notification'
    )
    const replies = (
      await notifications.page(carol, { after: 0, before: Number.MAX_SAFE_INTEGER, oldestFirst: false }, 100)
    ).filter((row) => row.type === 'reply')
    t.same(
      replies.map((row) => [row.actor_id, row.tweet_id]),
      [[dave, reply.id]],
      'one reply notification'
    )
  })

  t.test('someone who blocks the author is named but not notified', async (t) => {
    await follows.block(carol, dave)
    const posted = await tweets.tweet(dave, 'look @carol')
    t.same(posted.mentions, [{ id: carol, username: 'carol' }])
    t.notOk((await mentionsOf(carol)).some(([, tweetId]) => tweetId === posted.id))
    await follows.unblock(carol, dave)
  })

  t.test(`at most ${maxMentions} users: later names stay text`, async (t) => {
    const many: number[] = []
    for (let i = 0; i < maxMentions + 2; i++) many.push(await user(`many${i}`))
    const posted = await tweets.tweet(bob, many.map((_, i) => `@many${i}`).join(' '))
    t.same(
      posted.mentions.map((mention) => mention.id),
      many.slice(0, maxMentions)
    )
    t.same(await mentionsOf(many[maxMentions]), [], 'not notified')
    t.same(await mentionsOf(many[maxMentions - 1]), [[bob, posted.id]])
  })
})

t.test('refusals and side effects, exactly', async (t) => {
  const { pool, tweets, follows, users, user, wakes } = await services(t)
  const [alice, bob, carol] = [await user('alice'), await user('bob'), await user('carol')]
  const original = await tweets.tweet(alice, 'original')
  const outbox = async (authorId: number) => {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT kind, tweet_id FROM fanout_outbox WHERE author_id = ? ORDER BY id',
      [authorId]
    )
    return rows.map((row) => [row.kind as string, row.tweet_id as number])
  }

  t.test('a tweet unknown or not the caller’s is NotFound or Forbidden, naming the tweet', async (t) => {
    const notFound = new NotFound('Tweet not found', { tweet_id: 999_999 })
    await t.rejects(tweets.tweetById(999_999), notFound)
    await t.rejects(tweets.editTweet(bob, 999_999, 'x'), notFound)
    await t.rejects(tweets.deleteTweet(bob, 999_999), notFound)
    await t.rejects(tweets.unretweet(bob, 999_999), notFound)
    const forbidden = new Forbidden('Only the author can change this tweet', { tweet_id: original.id })
    await t.rejects(tweets.editTweet(bob, original.id, 'mine now'), forbidden)
    await t.rejects(tweets.deleteTweet(bob, original.id), forbidden)
    t.equal((await tweets.tweetById(original.id)).tweet, 'original', 'unchanged')
  })

  t.test('an unknown user’s timeline is NotFound naming the user; a deleted account is Unauthorized', async (t) => {
    await t.rejects(tweets.timelineFor(999_999, { limit: 20 }), new NotFound('User not found', { user_id: 999_999 }))
    const gone = new Unauthorized('The account of this token no longer exists')
    await t.rejects(tweets.tweet(999_999, 'ghost'), gone)
    await t.rejects(tweets.retweet(999_999, original.id), gone)
    await t.rejects(tweets.unretweet(999_999, original.id), gone)
  })

  t.test('a tweet with media, where this process keeps none, is NotFound and records nothing', async (t) => {
    const before = (await users.profileById(bob))!.tweets_count
    const woken = wakes()
    await t.rejects(tweets.tweet(bob, 'a picture', [1]), new NotFound('Media are not available'))
    t.equal((await users.profileById(bob))!.tweets_count, before)
    t.same((await tweets.tweetsBy(bob, { limit: 20 })).items, [])
    t.equal(wakes(), woken, 'no fan-out woken')
  })

  t.test('only a retweet or unretweet that changes something wakes the fan-out', async (t) => {
    const woken = wakes()
    await tweets.retweet(bob, original.id)
    t.equal(wakes(), woken + 1, 'a new retweet')
    await tweets.unretweet(bob, original.id)
    t.equal(wakes(), woken + 2, 'an undone retweet')
    t.match(await tweets.unretweet(bob, original.id), { retweet_count: 0, retweeted: false })
    t.equal(wakes(), woken + 2, 'undoing no retweet wakes nothing')
  })

  t.test('a retweeter without followers records no fan-out, one with followers a copy and a restore', async (t) => {
    await tweets.retweet(carol, original.id)
    t.same(await outbox(carol), [], 'nobody to copy to')
    await tweets.unretweet(carol, original.id)
    t.same(await outbox(carol), [], 'nobody to restore for')
    await follows.follow(alice, bob)
    await tweets.retweet(bob, original.id)
    const [[kind, retweetId]] = await outbox(bob)
    t.equal(kind, 'copy')
    t.not(retweetId, original.id, 'the copy carries the retweet’s own row')
    await tweets.unretweet(bob, original.id)
    t.same(await outbox(bob), [['restore', original.id]], 'the copy not yet done goes with the retweet')
  })

  t.test('the context of a tweet hidden from the viewer by a block is NotFound, as unknown', async (t) => {
    await follows.block(alice, carol)
    await t.rejects(tweets.context(original.id, carol), new NotFound('Tweet not found', { tweet_id: original.id }))
    t.same(await tweets.context(original.id, bob), { ancestors: [], descendants: [] }, 'others see it')
    await follows.unblock(alice, carol)
    t.same(await tweets.context(original.id, carol), { ancestors: [], descendants: [] })
  })
})

t.test('blocks and mutes hide tweets from the viewer', async (t) => {
  const { tweets, follows, user, fanout } = await services(t)
  const [viewer, author, retweeter, other, stranger] = [
    await user('viewer'),
    await user('author'),
    await user('retweeter'),
    await user('other'),
    await user('stranger')
  ]
  await follows.follow(viewer, author)
  await follows.follow(viewer, retweeter)
  const own = await tweets.tweet(author, 'by the author')
  const repeated = await tweets.tweet(other, 'by someone unfollowed')
  await tweets.retweet(retweeter, repeated.id)
  await fanout.drain()
  const home = async (viewerId: number) =>
    (await tweets.timelineFor(viewer, { limit: 20 }, viewerId)).items.map((item) => [
      item.tweet,
      item.retweeted_by?.id ?? null
    ])
  const everything = [
    ['by someone unfollowed', retweeter],
    ['by the author', null]
  ]
  t.same(await home(viewer), everything)

  t.test('the owner’s home timeline leaves out a muted author’s tweets and a muted retweeter’s retweets', async (t) => {
    await follows.mute(viewer, author)
    t.same(await home(viewer), [['by someone unfollowed', retweeter]])
    t.match(await tweets.tweetById(own.id, viewer), { id: own.id }, 'a muted author’s tweet is still readable')
    await follows.unmute(viewer, author)
    await follows.mute(viewer, retweeter)
    t.same(await home(viewer), [['by the author', null]])
    t.same(await home(stranger), everything, 'another viewer’s mutes do not apply')
    await follows.mute(stranger, author)
    t.same(await home(stranger), everything, 'nor those of someone looking at a timeline not theirs')
    await follows.unmute(viewer, retweeter)
    await follows.unmute(stranger, author)
  })

  t.test('a tweet by someone who blocks the viewer, or whom the viewer blocks, is NotFound to them', async (t) => {
    await follows.block(author, stranger)
    await t.rejects(tweets.tweetById(own.id, stranger), new NotFound('Tweet not found', { tweet_id: own.id }))
    await t.rejects(
      tweets.tweet(stranger, 'an answer', [], own.id),
      new NotFound('The tweet in_reply_to names does not exist', { in_reply_to: own.id }),
      'nor can they reply to it'
    )
    t.match(await tweets.tweetById(own.id), { reply_count: 0 })
    await follows.unblock(author, stranger)
    await follows.block(stranger, other)
    await t.rejects(tweets.tweetById(repeated.id, stranger), NotFound)
    t.same(await home(stranger), [['by the author', null]], 'nor shown on a timeline they read, retweeted or not')
    t.match(await tweets.tweetById(repeated.id, viewer), { id: repeated.id }, 'others still see it')
    await follows.unblock(stranger, other)
    await follows.block(stranger, retweeter)
    t.same(await home(stranger), [['by the author', null]], 'nor a tweet retweeted by someone blocked')
    t.match(await tweets.tweetById(repeated.id, stranger), { id: repeated.id }, 'read on its own, it is shown')
  })
})

t.test('a deleted account’s tweets and retweets are shown nowhere, before they are erased', async (t) => {
  const { pool, tweets, follows, users, user, fanout } = await services(t)
  const [reader, author, retweeter, other] = [
    await user('reader'),
    await user('author'),
    await user('retweeter'),
    await user('other')
  ]
  await follows.follow(reader, author)
  await follows.follow(reader, retweeter)
  const own = await tweets.tweet(author, 'by the author')
  const repeated = await tweets.tweet(other, 'by someone unfollowed')
  await tweets.retweet(retweeter, repeated.id)
  await fanout.drain()
  const texts = async () => (await tweets.timelineFor(reader, { limit: 20 }, reader)).items.map((item) => item.tweet)
  t.same(await texts(), ['by someone unfollowed', 'by the author'])
  t.ok(await users.deactivate(pool, author, 3600))
  t.ok(await users.deactivate(pool, retweeter, 3600))
  await t.rejects(tweets.tweetById(own.id), new NotFound('Tweet not found', { tweet_id: own.id }))
  t.same(await texts(), [], 'neither the tweet nor the retweet of a deleted account')
  t.match(await tweets.tweetById(repeated.id), { id: repeated.id, retweet_count: 1 }, 'the retweeted tweet stays')
})

t.test('a pulled account’s retweet and its undoing record no fan-out: its followers read them', async (t) => {
  const { pool, tweets, follows, user } = await services(t, { fanoutMaxFollowers: 1, timelineBackfill: 800 })
  const [author, celebrity] = [await user('author'), await user('celebrity')]
  for (let i = 0; i < 2; i++) await follows.follow(await user(`fan ${i}`), celebrity)
  const original = await tweets.tweet(author, 'worth repeating')
  const outbox = async () => {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT kind FROM fanout_outbox WHERE author_id = ?', [celebrity])
    return rows.map((row) => row.kind as string)
  }
  t.match(await tweets.retweet(celebrity, original.id), { retweet_count: 1, retweeted: true })
  t.same(await outbox(), [], 'no copy')
  t.match(await tweets.unretweet(celebrity, original.id), { retweet_count: 0, retweeted: false })
  t.same(await outbox(), [], 'no restore')
})

t.test('erasure steps remove up to their limit and say how many, keeping every counter', async (t) => {
  const { tweets, users, user } = await services(t)
  const [gone, author] = [await user('gone'), await user('author')]
  const originals = [
    await tweets.tweet(author, 'one'),
    await tweets.tweet(author, 'two'),
    await tweets.tweet(author, 'three')
  ]
  for (const original of originals) await tweets.retweet(gone, original.id)
  t.equal(await tweets.removeRetweetsBy(gone, 2), 2)
  t.equal(await tweets.removeRetweetsBy(gone, 2), 1)
  t.equal(await tweets.removeRetweetsBy(gone, 2), 0)
  for (const original of originals) t.match(await tweets.tweetById(original.id), { retweet_count: 0 })
  const parent = await tweets.tweet(author, 'a question')
  await tweets.tweet(gone, 'own')
  await tweets.tweet(gone, 'an answer', [], parent.id)
  await tweets.tweet(gone, 'another answer', [], parent.id)
  t.match(await users.profileById(gone), { tweets_count: 3 })
  t.equal(await tweets.deleteTweetsBy(gone, 2), 2, 'the newest two: the answers')
  t.match(await users.profileById(gone), { tweets_count: 1 })
  t.match(await tweets.tweetById(parent.id), { reply_count: 0 })
  t.equal(await tweets.deleteTweetsBy(gone, 2), 1)
  t.equal(await tweets.deleteTweetsBy(gone, 2), 0)
  t.match(await users.profileById(gone), { tweets_count: 0 })
  const thread = await tweets.context(parent.id)
  t.same(thread.descendants, [], 'deleted answers with nothing below them are left out')
})

t.test('a page asks for media only for its tweets that have some', async (t) => {
  const pool = await testPool(t)
  const transactor = new Transactor(pool)
  const storage = new LocalStorage(await testUploadDir(t), testPublicUrl)
  const mediaService = new MediaService(transactor, new MediaDao(pool), new PendingObjectDao(pool), storage, {
    maxMediaBytes: 1 << 20,
    graceDays: 0,
    maxImagePixels: 1_000_000
  })
  // The real media service, with each lookup it is asked for recorded.
  const asked: number[][] = []
  const media: TweetMediaSource = {
    attachToTweet: (...args) => mediaService.attachToTweet(...args),
    mediaForTweets: (tweetIds) => {
      asked.push([...tweetIds])
      return mediaService.mediaForTweets(tweetIds)
    }
  }
  const users = new UserDao(pool)
  const tweets = new TweetService(
    transactor,
    new TweetDao(pool),
    new TimelineDao(pool),
    users,
    new FollowDao(pool),
    storage,
    media,
    { wake: () => undefined },
    new FanoutDao(pool),
    new NotificationDao(pool)
  )
  const alice = await users.insertUser({
    name: 'alice',
    username: 'alice',
    email: 'alice@example.com',
    profile: '',
    hashedPassword: 'x'
  })
  const plain = await tweets.tweet(alice, 'plain')
  const upload = await mediaService.upload(alice, Readable.from([pngBytes]), 'a.png')
  const pictured = await tweets.tweet(alice, 'with a picture', [upload.id])
  asked.length = 0
  const page = await tweets.timelineFor(alice, { limit: 10 })
  t.same(
    page.items.map((item) => [item.id, item.media.map((m) => m.id)]),
    [
      [pictured.id, [upload.id]],
      [plain.id, []]
    ]
  )
  t.same(asked, [[pictured.id]], 'one lookup, for the tweet with media')
  asked.length = 0
  t.same((await tweets.timelineFor(alice, { limit: 10, before: pictured.id })).items.length, 1)
  t.same(asked, [], 'a page without media asks nothing')
})
