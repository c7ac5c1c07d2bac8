import t from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import { Transactor } from '../../model/database.ts'
import { BlockDao } from '../../model/block-dao.ts'
import { FanoutDao } from '../../model/fanout-dao.ts'
import { NotificationDao } from '../../model/notification-dao.ts'
import { FollowDao } from '../../model/follow-dao.ts'
import { LikeDao } from '../../model/like-dao.ts'
import { TimelineDao } from '../../model/timeline-dao.ts'
import { TweetDao } from '../../model/tweet-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { NotFound } from '../../service/errors.ts'
import { FollowService } from '../../service/follow-service.ts'
import { LikeService } from '../../service/like-service.ts'
import { LocalStorage } from '../../service/storage/local.ts'
import { TweetService, type TweetItem } from '../../service/tweet-service.ts'
import { ConsistencyDao } from '../consistency.ts'
import { testPool, testPublicUrl, testUploadDir } from '../helper.ts'

/** The services as the app builds them; the tweet cache on, as READ_CACHE_TTL_MS has it in production. */
async function services(t: { teardown(fn: () => unknown): void }) {
  const pool = await testPool(t, { connectionLimit: 20 })
  const storage = new LocalStorage(await testUploadDir(t), testPublicUrl)
  const users = new UserDao(pool)
  const tweetDao = new TweetDao(pool, pool, { ttlMs: 60_000, maxEntries: 1000 })
  const likeDao = new LikeDao(pool)
  const transactor = new Transactor(pool)
  const tweets = new TweetService(
    transactor,
    tweetDao,
    new TimelineDao(pool),
    users,
    new FollowDao(pool),
    storage,
    undefined,
    { wake() {} },
    new FanoutDao(pool),
    new NotificationDao(pool)
  )
  const follows = new FollowService(
    transactor,
    new FollowDao(pool),
    new BlockDao(pool),
    new NotificationDao(pool),
    new TimelineDao(pool),
    users,
    storage,
    { fanoutMaxFollowers: 1000, timelineBackfill: 800 }
  )
  const likes = new LikeService(
    transactor,
    likeDao,
    tweetDao,
    users,
    new NotificationDao(pool),
    tweets,
    storage,
    follows
  )
  const user = (name: string) =>
    users.insertUser({
      name,
      username: name,
      email: `${name}@example.com`,
      profile: `${name}'s profile`,
      hashedPassword: 'x'
    })
  /** The like ids of a tweet (or of a user's likes), newest first: the lists' cursors. */
  const likeIds = async (column: 'tweet_id' | 'user_id', id: number) => {
    const [rows] = await pool.query<RowDataPacket[]>(`SELECT id FROM likes WHERE ${column} = ? ORDER BY id DESC`, [id])
    return rows.map((row) => row.id as number)
  }
  const storedCount = async (tweetId: number) => {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT like_count FROM tweets WHERE id = ?', [tweetId])
    return rows[0]?.like_count as number | undefined
  }
  return { pool, tweets, likes, follows, user, likeIds, storedCount }
}

const countAndFlag = (item: TweetItem) => ({ like_count: item.like_count, liked: item.liked })

t.test('LikeService', async (t) => {
  const { pool, tweets, likes, follows, user, likeIds, storedCount } = await services(t)
  const [alice, bob, carol] = [await user('alice'), await user('bob'), await user('carol')]

  t.test('like answers the tweet as the liker now sees it; liking twice is one like', async (t) => {
    const tweet = await tweets.tweet(alice, 'like me')
    const first = await likes.like(bob, tweet.id)
    t.match(first, { id: tweet.id, tweet: 'like me', user_id: alice })
    t.same(countAndFlag(first), { like_count: 1, liked: true })
    t.same(countAndFlag(await likes.like(bob, tweet.id)), { like_count: 1, liked: true })
    t.equal(await storedCount(tweet.id), 1)
    t.equal((await likeIds('tweet_id', tweet.id)).length, 1)
    t.same(countAndFlag(await likes.like(carol, tweet.id)), { like_count: 2, liked: true })
  })

  t.test('unlike answers the tweet unliked; unliking twice, or what you never liked, changes nothing', async (t) => {
    const tweet = await tweets.tweet(alice, 'unlike me')
    await likes.like(bob, tweet.id)
    await likes.like(carol, tweet.id)
    t.same(countAndFlag(await likes.unlike(bob, tweet.id)), { like_count: 1, liked: false })
    t.same(countAndFlag(await likes.unlike(bob, tweet.id)), { like_count: 1, liked: false })
    t.same(countAndFlag(await likes.unlike(alice, tweet.id)), { like_count: 1, liked: false })
    t.same(countAndFlag(await likes.unlike(carol, tweet.id)), { like_count: 0, liked: false })
    t.same(countAndFlag(await likes.unlike(carol, tweet.id)), { like_count: 0, liked: false })
    t.equal(await storedCount(tweet.id), 0)
  })

  t.test('an unknown tweet is NotFound naming it, and nothing is written', async (t) => {
    const notFound = new NotFound('Tweet not found', { tweet_id: 999_999 })
    await t.rejects(likes.like(bob, 999_999), notFound)
    await t.rejects(likes.unlike(bob, 999_999), notFound)
    await t.rejects(likes.likers(999_999, { limit: 10 }), notFound)
    t.same(await likeIds('tweet_id', 999_999), [])
  })

  t.test('a deleted tweet is NotFound, and its likes went with it', async (t) => {
    const tweet = await tweets.tweet(alice, 'doomed')
    await likes.like(bob, tweet.id)
    await likes.like(carol, tweet.id)
    await tweets.deleteTweet(alice, tweet.id)
    t.same(await likeIds('tweet_id', tweet.id), [])
    const notFound = new NotFound('Tweet not found', { tweet_id: tweet.id })
    await t.rejects(likes.like(bob, tweet.id), notFound)
    await t.rejects(likes.unlike(carol, tweet.id), notFound)
    await t.rejects(likes.likers(tweet.id, { limit: 10 }), notFound)
    t.same(
      (await likes.likedTweets(bob, { limit: 100 })).items.filter((item) => item.id === tweet.id),
      [],
      'nor is it among what its likers like'
    )
  })

  t.test('a like shows at once on this process’s pages, though their tweets come from the row cache', async (t) => {
    const tweet = await tweets.tweet(carol, 'cached')
    const onPage = async (viewer?: number) =>
      countAndFlag((await tweets.timelineFor(carol, { limit: 1 }, viewer)).items[0])
    t.same(await onPage(bob), { like_count: 0, liked: false }, 'now in the cache')
    await likes.like(bob, tweet.id)
    t.same(await onPage(bob), { like_count: 1, liked: true })
    t.same(await onPage(), { like_count: 1, liked: false })
    await likes.unlike(bob, tweet.id)
    t.same(await onPage(bob), { like_count: 0, liked: false })
  })

  t.test('concurrent likes and unlikes from many connections leave the exact count', async (t) => {
    const tweet = await tweets.tweet(alice, 'contended')
    const likers: number[] = []
    for (let i = 0; i < 30; i++) likers.push(await user(`fan${i}`))
    // Every fan likes three times at once: 90 requests, 30 likes.
    await Promise.all(likers.flatMap((fan) => [1, 2, 3].map(() => likes.like(fan, tweet.id))))
    t.equal(await storedCount(tweet.id), 30)
    t.equal((await likeIds('tweet_id', tweet.id)).length, 30)
    // The first half unlike twice while the second half like again and the first half's likes race
    // their own unlikes: whatever order they ran in, the count is the rows left.
    const [leaving, staying] = [likers.slice(0, 15), likers.slice(15)]
    await Promise.all([
      ...leaving.flatMap((fan) => [likes.unlike(fan, tweet.id), likes.unlike(fan, tweet.id)]),
      ...staying.map((fan) => likes.like(fan, tweet.id))
    ])
    t.equal(await storedCount(tweet.id), 15)
    const racing = likers.slice(0, 10)
    await Promise.all(racing.flatMap((fan) => [likes.like(fan, tweet.id), likes.unlike(fan, tweet.id)]))
    const rows = (await likeIds('tweet_id', tweet.id)).length
    t.ok(rows >= 15 && rows <= 25, `between 15 and 25 likes remain (${rows})`)
    t.equal(await storedCount(tweet.id), rows, 'the count is exactly the rows')
    t.equal((await new ConsistencyDao(pool).violations()).like_count_mismatch, 0)
  })

  t.test('likers: newest like first, paged to the end by like ids', async (t) => {
    const tweet = await tweets.tweet(alice, 'who likes this')
    const dave = await user('dave')
    for (const liker of [carol, alice, dave, bob]) await likes.like(liker, tweet.id)
    // Liking again is a new like: Carol moves to the front.
    await likes.unlike(carol, tweet.id)
    await likes.like(carol, tweet.id)
    const ids = await likeIds('tweet_id', tweet.id)
    const first = await likes.likers(tweet.id, { limit: 3 })
    t.same(first, {
      items: [
        {
          id: carol,
          name: 'carol',
          username: 'carol',
          profile: "carol's profile",
          profile_picture: null,
          following: false
        },
        { id: bob, name: 'bob', username: 'bob', profile: "bob's profile", profile_picture: null, following: false },
        { id: dave, name: 'dave', username: 'dave', profile: "dave's profile", profile_picture: null, following: false }
      ],
      next_cursor: ids[2],
      prev_cursor: null
    })
    t.same(await likes.likers(tweet.id, { limit: 3, before: ids[2] }), {
      items: [
        {
          id: alice,
          name: 'alice',
          username: 'alice',
          profile: "alice's profile",
          profile_picture: null,
          following: false
        }
      ],
      next_cursor: null,
      prev_cursor: ids[3]
    })
    t.same(await likes.likers(tweet.id, { limit: 4 }).then((page) => page.next_cursor), null, 'exactly full')
    const nobody = await tweets.tweet(alice, 'unloved')
    t.same(await likes.likers(nobody.id, { limit: 3 }), { items: [], next_cursor: null, prev_cursor: null })
  })

  t.test('likers as a viewer sees them: whom they follow flagged, anyone blocked either way left out', async (t) => {
    const tweet = await tweets.tweet(alice, 'liked by the viewer’s circle')
    const [erin, frank, gina] = [await user('liker1'), await user('liker2'), await user('liker3')]
    for (const liker of [erin, frank, gina]) await likes.like(liker, tweet.id)
    await follows.follow(bob, erin)
    await follows.block(bob, frank)
    await follows.block(gina, bob)
    const seen = await likes.likers(tweet.id, { limit: 10 }, bob)
    t.same(
      seen.items.map((liker) => [liker.id, liker.following]),
      [[erin, true]],
      'frank (blocked) and gina (who blocks) are left out'
    )
    t.same(
      (await likes.likers(tweet.id, { limit: 10 }, carol)).items.map((liker) => [liker.id, liker.following]),
      [
        [gina, false],
        [frank, false],
        [erin, false]
      ],
      'another viewer sees all three'
    )
    t.same(
      (await likes.likers(tweet.id, { limit: 10 })).items.map((liker) => liker.following),
      [false, false, false],
      'anonymous: following is false'
    )
    await follows.block(alice, bob)
    await t.rejects(likes.likers(tweet.id, { limit: 10 }, bob), NotFound, 'the author blocks the viewer: no such tweet')
    for (const [blocker, blocked] of [
      [bob, frank],
      [gina, bob],
      [alice, bob]
    ])
      await follows.unblock(blocker, blocked)
  })

  t.test('likedTweets: newest like first, paged to the end by like ids, with the viewer’s flags', async (t) => {
    const erin = await user('erin')
    const [a, b, c] = [await tweets.tweet(alice, 'a'), await tweets.tweet(bob, 'b'), await tweets.tweet(carol, 'c')]
    await likes.like(erin, b.id)
    await likes.like(erin, a.id)
    await likes.like(erin, c.id)
    await likes.like(bob, a.id)
    const ids = await likeIds('user_id', erin)
    const seen = (items: TweetItem[]) => items.map((item) => [item.id, item.like_count, item.liked])

    const first = await likes.likedTweets(erin, { limit: 2 }, bob)
    t.same(seen(first.items), [
      [c.id, 1, false],
      [a.id, 2, true]
    ])
    t.equal(first.next_cursor, ids[1], 'the cursor is the like’s id, not the tweet’s')
    const last = await likes.likedTweets(erin, { limit: 2, before: ids[1] }, bob)
    t.same(seen(last.items), [[b.id, 1, false]])
    t.equal(last.next_cursor, null)
    t.same(seen((await likes.likedTweets(erin, { limit: 10 }, erin)).items), [
      [c.id, 1, true],
      [a.id, 2, true],
      [b.id, 1, true]
    ])
    t.same(
      seen((await likes.likedTweets(erin, { limit: 10 })).items).map(([, , liked]) => liked),
      [false, false, false],
      'anonymous: no flags'
    )
    const none = await user('none')
    t.same(await likes.likedTweets(none, { limit: 10 }), { items: [], next_cursor: null, prev_cursor: null })
  })

  t.test('a deleted tweet leaves a page of likes, whose cursor still moves past it', async (t) => {
    const frank = await user('frank')
    const [keep, lose] = [await tweets.tweet(alice, 'keep'), await tweets.tweet(alice, 'lose')]
    await likes.like(frank, keep.id)
    await likes.like(frank, lose.id)
    const before = await likeIds('user_id', frank)
    await tweets.deleteTweet(alice, lose.id)
    const page = await likes.likedTweets(frank, { limit: 1 })
    t.same(
      page.items.map((item) => item.id),
      [keep.id]
    )
    t.equal(page.next_cursor, null)
    t.same(await likeIds('user_id', frank), [before[1]])
  })

  t.test('the likes of an unknown user are NotFound naming it', async (t) => {
    await t.rejects(likes.likedTweets(999_999, { limit: 10 }), new NotFound('User not found', { user_id: 999_999 }))
  })
})

t.test(
  'a like notifies the author; an unlike takes it back; erasure steps remove likes up to their limit',
  async (t) => {
    const { pool, tweets, likes, user, storedCount } = await services(t)
    const [author, fan] = [await user('author'), await user('fan')]
    const posted = [
      await tweets.tweet(author, 'one'),
      await tweets.tweet(author, 'two'),
      await tweets.tweet(author, 'three')
    ]
    const notified = async () => {
      const [rows] = await pool.query<RowDataPacket[]>(
        "SELECT actor_id, tweet_id FROM notifications WHERE user_id = ? AND type = 'like' ORDER BY id",
        [author]
      )
      return rows.map((row) => [row.actor_id as number, row.tweet_id as number])
    }

    t.test('the author hears of a new like once; an unlike takes that back', async (t) => {
      await likes.like(fan, posted[0].id)
      await likes.like(fan, posted[0].id)
      t.same(await notified(), [[fan, posted[0].id]])
      t.match(await likes.unlike(fan, posted[0].id), { like_count: 0, liked: false })
      t.same(await notified(), [], 'taken back')
      await likes.unlike(fan, posted[0].id)
      t.same(await notified(), [])
    })

    t.test('removeLikesBy removes up to its limit, says how many, and takes each count and notice back', async (t) => {
      for (const tweet of posted) await likes.like(fan, tweet.id)
      t.equal((await notified()).length, 3)
      t.equal(await likes.removeLikesBy(fan, 2), 2)
      t.equal(await likes.removeLikesBy(fan, 2), 1)
      t.equal(await likes.removeLikesBy(fan, 2), 0)
      for (const tweet of posted) {
        t.equal(await storedCount(tweet.id), 0)
        t.match(await tweets.tweetById(tweet.id, fan), { like_count: 0, liked: false }, 'not answered from the cache')
      }
      t.same(await notified(), [])
    })
  }
)
