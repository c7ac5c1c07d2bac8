import t from 'tap'
import type { ResultSetHeader } from 'mysql2/promise'
import { ConsistencyDao, noViolations } from './consistency.ts'
import { TimelineDao } from '../model/timeline-dao.ts'
import { TweetDao } from '../model/tweet-dao.ts'
import { UserDao } from '../model/user-dao.ts'
import { testPool } from './helper.ts'

t.test('ConsistencyDao', async (t) => {
  const pool = await testPool(t)
  const dao = new ConsistencyDao(pool)
  const users = new UserDao(pool)
  const tweets = new TweetDao(pool)
  const timelines = new TimelineDao(pool)
  const alice = await users.insertUser({
    name: 'a',
    username: 'a_user',
    email: 'a@example.com',
    profile: '',
    hashedPassword: 'x'
  })

  t.test('fingerprint changes exactly when stored data changes', async (t) => {
    const before = await dao.fingerprint()
    t.same(Object.keys(before).sort(), [
      'blocks',
      'fanout_outbox',
      'likes',
      'media',
      'mutes',
      'notifications',
      'personal_tokens',
      'pulled_follows',
      'revoked_tokens',
      'timeline_entries',
      'timeline_gaps',
      'tweet_media',
      'tweet_tombstones',
      'tweet_words',
      'tweets',
      'users',
      'users_follow_list'
    ])
    t.same(await dao.fingerprint(), before)
    await users.updateProfile(alice, { profile: 'changed' })
    t.not((await dao.fingerprint()).users, before.users)
  })

  t.test('an empty or whole database has no violations', async (t) => {
    t.same(await dao.violations(), noViolations)
  })

  let halfWritten = 0
  t.test('a tweet written without its counter and timeline entry is reported', async (t) => {
    const [result] = await pool.execute<ResultSetHeader>('INSERT INTO tweets (user_id, tweet) VALUES (?, ?)', [
      alice,
      'half-written'
    ])
    halfWritten = result.insertId
    const found = await dao.violations()
    t.equal(found.tweets_count_mismatch, 1)
    t.equal(found.tweets_missing_from_author_timeline, 1)
  })

  t.test('completing the write clears the report', async (t) => {
    await tweets.postTweet(alice, 'whole')
    await users.addTweetsCount(pool, alice, 1)
    await timelines.addToTimelines(pool, halfWritten, alice, [alice])
    t.same(await dao.violations(), noViolations)
  })

  t.test(
    'a copy on the timeline of someone who does not follow the author, and pending fan-out, are reported',
    async (t) => {
      const bob = await users.insertUser({
        name: 'b',
        username: 'b_user',
        email: 'b@example.com',
        profile: '',
        hashedPassword: 'x'
      })
      const { id } = (await tweets.postTweet(alice, 'not for bob'))!
      await timelines.addToTimelines(pool, id, alice, [bob])
      await pool.execute('INSERT INTO fanout_outbox (tweet_id, author_id) VALUES (?, ?)', [id, alice])
      t.match(await dao.violations(), { timeline_entries_without_follow: 1, fanout_pending: 1 })
      await timelines.removeAuthor(pool, bob, alice)
      await pool.query('DELETE FROM fanout_outbox')
      t.same(await dao.violations(), noViolations)
    }
  )

  t.test(
    'retweets: a counter off by one, or an entry that does not show the retweeted tweet, is reported',
    async (t) => {
      const { id } = (await tweets.postTweet(alice, 'to retweet'))!
      const retweet = (await tweets.addRetweet(pool, alice, id))!
      t.match(await dao.violations(), { retweet_count_mismatch: 1, tweets_count_mismatch: 0 })
      await tweets.addRetweetCount(pool, id, 1)
      await pool.execute('INSERT INTO timeline_entries (owner_id, tweet_id, author_id) VALUES (?, ?, ?)', [
        alice,
        retweet,
        alice
      ])
      t.match(await dao.violations(), { retweet_count_mismatch: 0, entries_showing_the_wrong_tweet: 1 })
      await pool.execute('DELETE FROM timeline_entries WHERE tweet_id = ?', [retweet])
      t.same(await dao.violations(), noViolations, 'the original shows it')
      await tweets.removeRetweet(pool, alice, id)
      await tweets.addRetweetCount(pool, id, -1)
    }
  )

  t.test('a horizon that is not the highest gap is reported', async (t) => {
    await pool.execute('INSERT INTO timeline_gaps (owner_id, author_id, below_id) VALUES (?, ?, 5)', [alice, alice])
    t.match(await dao.violations(), { timeline_horizon_mismatch: 1 })
    await pool.execute('DELETE FROM timeline_gaps WHERE owner_id = ?', [alice])
    t.same(await dao.violations(), noViolations)
  })
  t.test('a follow between two users one of whom blocks the other is reported, either way', async (t) => {
    const bob = await users.insertUser({
      name: 'b',
      username: 'b_blocks',
      email: 'b-blocks@example.com',
      profile: '',
      hashedPassword: 'x'
    })
    await pool.execute('INSERT INTO users_follow_list (user_id, follow_user_id) VALUES (?, ?)', [alice, bob])
    await pool.execute('INSERT INTO blocks (user_id, blocked_id) VALUES (?, ?)', [bob, alice])
    t.match(await dao.violations(), { follows_across_block: 1 })
    await pool.execute('DELETE FROM blocks')
    await pool.execute('INSERT INTO blocks (user_id, blocked_id) VALUES (?, ?)', [alice, bob])
    t.match(await dao.violations(), { follows_across_block: 1 })
    await pool.execute('DELETE FROM blocks')
    await pool.execute('DELETE FROM users_follow_list')
    await pool.execute('DELETE FROM users WHERE id = ?', [bob])
  })

  t.test('a tweet whose words search cannot find, or a retweet it would, is reported', async (t) => {
    const { id } = (await tweets.postTweet(alice, 'findable words'))!
    await pool.execute('DELETE FROM tweet_words WHERE tweet_id = ?', [id])
    t.match(await dao.violations(), { tweet_words_mismatch: 1 })
    await pool.execute("INSERT INTO tweet_words (word, tweet_id) VALUES ('findable', ?)", [id])
    const retweet = (await tweets.addRetweet(pool, alice, id))!
    await pool.execute("INSERT INTO tweet_words (word, tweet_id) VALUES ('stray', ?)", [retweet])
    t.match(await dao.violations(), { tweet_words_mismatch: 1 })
    await pool.execute('DELETE FROM tweets WHERE id IN (?, ?)', [retweet, id])
    await pool.execute('UPDATE users SET tweets_count = tweets_count - 1 WHERE id = ?', [alice])
    t.same(await dao.violations(), noViolations)
  })

  t.test('a like without its count, or a count without its like, is reported', async (t) => {
    const { id } = (await tweets.postTweet(alice, 'liked'))!
    await pool.execute('INSERT INTO likes (user_id, tweet_id) VALUES (?, ?)', [alice, id])
    t.match(await dao.violations(), { like_count_mismatch: 1 })
    await pool.execute('UPDATE tweets SET like_count = 2 WHERE id = ?', [id])
    t.match(await dao.violations(), { like_count_mismatch: 1 })
    await pool.execute('UPDATE tweets SET like_count = 1 WHERE id = ?', [id])
    t.same(await dao.violations(), noViolations)
  })

  t.test('a reply_count that is not the number of direct replies is reported', async (t) => {
    const { id: root } = (await tweets.postTweet(alice, 'root'))!
    const { id: reply } = (await tweets.postTweet(alice, 'reply', root))!
    t.same(await dao.violations(), noViolations, 'posting counts the reply')
    await pool.execute('UPDATE tweets SET reply_count = 0 WHERE id = ?', [root])
    t.match(await dao.violations(), { reply_count_mismatch: 1 })
    await pool.execute('UPDATE tweets SET reply_count = 1 WHERE id = ?', [root])
    await pool.execute('UPDATE tweets SET reply_count = 2 WHERE id = ?', [reply])
    t.match(await dao.violations(), { reply_count_mismatch: 1 }, 'a count with no reply behind it too')
    await pool.execute('UPDATE tweets SET reply_count = 0 WHERE id = ?', [reply])
    t.same(await dao.violations(), noViolations)
  })

  t.test('a reply whose deleted parent left no tombstone is reported, unless the parent was the root', async (t) => {
    const { id: root } = (await tweets.postTweet(alice, 'root'))!
    const { id: middle } = (await tweets.postTweet(alice, 'middle', root))!
    await tweets.postTweet(alice, 'leaf', middle)
    await pool.execute('UPDATE tweets SET reply_count = 0 WHERE id = ?', [root])
    await pool.execute('DELETE FROM tweets WHERE id = ?', [middle])
    await users.addTweetsCount(pool, alice, -1)
    t.match(await dao.violations(), { replies_without_parent: 1 })
    await pool.execute('INSERT INTO tweet_tombstones (id, in_reply_to, conversation_id) VALUES (?, ?, ?)', [
      middle,
      root,
      root
    ])
    t.same(await dao.violations(), noViolations)
    await pool.execute('DELETE FROM tweets WHERE id = ?', [root])
    await users.addTweetsCount(pool, alice, -1)
    t.same(await dao.violations(), noViolations, 'a deleted root needs none')
  })
})
