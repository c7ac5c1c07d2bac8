import t from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import { createPool, Transactor } from '../../model/database.ts'
import { LikeDao } from '../../model/like-dao.ts'
import { TweetDao } from '../../model/tweet-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { testDatabaseUrl } from '../helper.ts'

/** Likes below `before`, newest first: a page read towards older. */
const newestBelow = (before: number) => ({ after: 0, before, oldestFirst: false })

t.test('LikeDao', async (t) => {
  const url = await testDatabaseUrl(t)
  const pool = createPool(url)
  t.teardown(() => pool.end())
  const users = new UserDao(pool)
  const tweets = new TweetDao(pool)
  const likes = new LikeDao(pool)
  const transactor = new Transactor(pool)
  const user = (name: string) =>
    users.insertUser({
      name,
      username: name,
      email: `${name}@example.com`,
      profile: `${name}'s profile`,
      hashedPassword: 'x'
    })
  const [alice, bob, carol] = [await user('alice'), await user('bob'), await user('carol')]
  const post = async (author: number, text: string) => (await tweets.postTweet(author, text))!.id
  const likeRows = async () => {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT user_id, tweet_id FROM likes ORDER BY id')
    return rows.map((row) => [row.user_id, row.tweet_id])
  }

  t.test('like is idempotent: the second like of a pair adds no row and says so', async (t) => {
    const tweet = await post(alice, 'like me')
    t.equal(await likes.like(pool, bob, tweet), true)
    t.equal(await likes.like(pool, bob, tweet), false)
    t.same(await likeRows(), [[bob, tweet]])
    await pool.query('DELETE FROM likes')
  })

  t.test('unlike is idempotent: only the first unlike removes a row', async (t) => {
    const tweet = await post(alice, 'unlike me')
    await likes.like(pool, bob, tweet)
    t.equal(await likes.unlike(pool, bob, tweet), true)
    t.equal(await likes.unlike(pool, bob, tweet), false)
    t.equal(await likes.unlike(pool, carol, tweet), false, 'a like that never was')
    t.same(await likeRows(), [])
  })

  t.test('addLikeCount moves the tweet’s counter, which every tweet read returns', async (t) => {
    const tweet = await post(alice, 'counted')
    t.match(await tweets.tweetById(tweet), { like_count: 0 })
    await likes.addLikeCount(pool, tweet, 1)
    await likes.addLikeCount(pool, tweet, 1)
    t.match(await tweets.tweetById(tweet), { like_count: 2 })
    t.match((await tweets.tweetsByIds([tweet])).get(tweet), { like_count: 2 })
    await likes.addLikeCount(pool, tweet, -1)
    t.match(await tweets.tweetById(tweet), { like_count: 1 })
  })

  t.test('lockTweet answers whether the tweet exists', async (t) => {
    const tweet = await post(alice, 'lockable')
    t.equal(await transactor.run((connection) => likes.lockTweet(connection, tweet)), true)
    t.equal(await transactor.run((connection) => likes.lockTweet(connection, 999_999)), false)
  })

  t.test('lockTweet holds the row: a second locker waits until the first commits', async (t) => {
    const tweet = await post(alice, 'contended')
    const order: string[] = []
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    let locked!: () => void
    const firstHasLock = new Promise<void>((resolve) => (locked = resolve))
    const first = transactor.run(async (connection) => {
      await likes.lockTweet(connection, tweet)
      locked()
      await held
      order.push('first commits')
    })
    await firstHasLock
    const second = transactor.run(async (connection) => {
      await likes.lockTweet(connection, tweet)
      order.push('second locked')
    })
    await new Promise((resolve) => setTimeout(resolve, 200))
    release()
    await Promise.all([first, second])
    t.same(order, ['first commits', 'second locked'])
  })

  t.test('likers: newest like first, keyset paged by the like id, as user summaries', async (t) => {
    const tweet = await post(alice, 'popular')
    await likes.like(pool, carol, tweet)
    await likes.like(pool, alice, tweet)
    await likes.like(pool, bob, tweet)
    const all = await likes.likers(tweet, newestBelow(Number.MAX_SAFE_INTEGER), 10)
    t.same(
      all.map((row) => [row.id, row.name, row.username, row.profile, row.profile_picture]),
      [
        [bob, 'bob', 'bob', "bob's profile", null],
        [alice, 'alice', 'alice', "alice's profile", null],
        [carol, 'carol', 'carol', "carol's profile", null]
      ]
    )
    t.ok(all[0].like_id > all[1].like_id && all[1].like_id > all[2].like_id, 'like ids descend')
    const below = await likes.likers(tweet, newestBelow(all[0].like_id), 1)
    t.same(
      below.map((row) => row.id),
      [alice]
    )
    t.same(await likes.likers(tweet, newestBelow(all[2].like_id), 10), [])
    t.same(await likes.likers(999_999, newestBelow(Number.MAX_SAFE_INTEGER), 10), [])
    await pool.query('DELETE FROM likes')
  })

  t.test('likedTweets: newest like first (not newest tweet), keyset paged by the like id', async (t) => {
    const [older, newer] = [await post(alice, 'older'), await post(alice, 'newer')]
    await likes.like(pool, carol, newer)
    await likes.like(pool, carol, older)
    await likes.like(pool, bob, older)
    const rows = await likes.likedTweets(carol, newestBelow(Number.MAX_SAFE_INTEGER), 10)
    t.same(
      rows.map((row) => row.tweet_id),
      [older, newer]
    )
    t.same(
      (await likes.likedTweets(carol, newestBelow(rows[0].like_id), 10)).map((row) => row.tweet_id),
      [newer]
    )
    await likes.unlike(pool, carol, newer)
    await likes.like(pool, carol, newer)
    t.same(
      (await likes.likedTweets(carol, newestBelow(Number.MAX_SAFE_INTEGER), 10)).map((row) => row.tweet_id),
      [newer, older],
      'liking again is a new like: it comes first'
    )
    t.same(await likes.likedTweets(alice, newestBelow(Number.MAX_SAFE_INTEGER), 10), [])
    const oldestFirst = { after: 0, before: Number.MAX_SAFE_INTEGER, oldestFirst: true }
    t.same(
      (await likes.likedTweets(carol, oldestFirst, 1)).map((row) => row.tweet_id),
      [older],
      'oldest first from `after`: the oldest like left'
    )
    await pool.query('DELETE FROM likes')
  })

  t.test('a deleted tweet takes its likes with it; so does a deleted user', async (t) => {
    const [kept, doomed] = [await post(alice, 'kept'), await post(alice, 'doomed')]
    const dave = await user('dave')
    await likes.like(pool, bob, kept)
    await likes.like(pool, bob, doomed)
    await likes.like(pool, dave, kept)
    await transactor.run((connection) => tweets.deleteTweet(connection, doomed))
    t.same(await likeRows(), [
      [bob, kept],
      [dave, kept]
    ])
    await pool.query('DELETE FROM users WHERE id = ?', [dave])
    t.same(await likeRows(), [[bob, kept]])
    await pool.query('DELETE FROM likes')
  })

  t.test('likedTweetIds: the tweets a user likes, in id order, at most the limit', async (t) => {
    const [dan, erin] = [await user('dan'), await user('erin')]
    const [one, two] = [await post(alice, 'one'), await post(alice, 'two')]
    await likes.like(pool, erin, two)
    await likes.like(pool, erin, one)
    t.same(await likes.likedTweetIds(pool, erin, 10), [one, two])
    t.same(await likes.likedTweetIds(pool, erin, 1), [one])
    t.same(await likes.likedTweetIds(pool, dan, 10), [])
    t.test('a deactivated account is left out of a tweet’s likers', async (t) => {
      await likes.like(pool, dan, one)
      await transactor.run((connection) => users.deactivate(connection, erin, 3600))
      t.same(
        (await likes.likers(one, newestBelow(Number.MAX_SAFE_INTEGER), 10)).map((row) => row.id),
        [dan]
      )
      await pool.query('DELETE FROM likes')
    })
  })
})
