import t from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import { Transactor } from '../../model/database.ts'
import { FanoutDao } from '../../model/fanout-dao.ts'
import { FollowDao } from '../../model/follow-dao.ts'
import { TweetDao } from '../../model/tweet-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { testPool } from '../helper.ts'

t.test('FanoutDao', async (t) => {
  const pool = await testPool(t)
  const users = new UserDao(pool)
  const tweets = new TweetDao(pool)
  const follows = new FollowDao(pool)
  const outbox = new FanoutDao(pool)
  const transactor = new Transactor(pool)
  const user = (name: string) =>
    users.insertUser({ name, username: name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
  const author = await user('author')
  const fans: number[] = []
  for (let i = 0; i < 5; i++) {
    const fan = await user(`fan${i}`)
    await follows.follow(pool, fan, author)
    fans.push(fan)
  }
  // post_tweet writes a fan-out row for an author with followers.
  await pool.query('UPDATE users SET followers_count = ? WHERE id = ?', [fans.length, author])
  const post = async (text: string) => (await tweets.postTweet(author, text))!.id
  const claim = (limit: number, worker: string, leaseMs = 60_000) =>
    transactor.run(async (c) => {
      const rows = await outbox.claimable(c, limit)
      await outbox.lease(
        c,
        rows.map((row) => row.id),
        worker,
        leaseMs
      )
      return rows
    })
  const leases = async () => {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT tweet_id, claimed_by, attempts FROM fanout_outbox ORDER BY id'
    )
    return rows
  }

  t.test('claimable takes free rows oldest first, with the attempt they are on', async (t) => {
    const [a, b] = [await post('a'), await post('b')]
    const rows = await claim(1, 'w1')
    t.match(rows, [{ tweet_id: a, author_id: author, done_through: 0, attempts: 1 }])
    t.same(await leases(), [
      { tweet_id: a, claimed_by: 'w1', attempts: 1 },
      { tweet_id: b, claimed_by: null, attempts: 0 }
    ])
    t.match(await claim(10, 'w2'), [{ tweet_id: b }], 'a leased row is not offered again')
    t.same(await claim(10, 'w3'), [])
  })

  t.test('rows locked by another claim in progress are skipped, not waited for', async (t) => {
    await pool.query('DELETE FROM fanout_outbox')
    const [a, b] = [await post('a'), await post('b')]
    const first = await pool.getConnection()
    try {
      await first.beginTransaction()
      t.match(await outbox.claimable(first, 1), [{ tweet_id: a }])
      t.match(await claim(10, 'w2'), [{ tweet_id: b }], 'SKIP LOCKED passed over the locked row')
      await first.rollback()
    } finally {
      first.release()
    }
    t.match(await claim(10, 'w3'), [{ tweet_id: a }], 'the row is free again after the rollback')
  })

  t.test('an expired lease is claimable again, and its old holder can no longer advance or finish', async (t) => {
    await pool.query('DELETE FROM fanout_outbox')
    const a = await post('a')
    const [row] = await claim(1, 'dead', 1)
    await new Promise((resolve) => setTimeout(resolve, 20))
    const [again] = await claim(1, 'alive')
    t.match(again, { id: row.id, tweet_id: a, attempts: 2 })
    t.equal(await outbox.advance(pool, row.id, 'dead', fans[1], 60_000), false)
    t.equal(await outbox.finish(pool, row.id, 'dead'), false)
    t.equal(await outbox.advance(pool, row.id, 'alive', fans[1], 60_000), true)
    t.same(await claim(1, 'third'), [], 'progress renewed the lease')
    const [[progress]] = await pool.query<RowDataPacket[]>('SELECT done_through FROM fanout_outbox WHERE id = ?', [
      row.id
    ])
    t.equal(progress.done_through, fans[1])
    t.equal(await outbox.finish(pool, row.id, 'alive'), true)
    t.same(await leases(), [])
  })

  t.test('followerChunk pages the followers in user_id order', async (t) => {
    t.same(await outbox.followerChunk(pool, author, 0, 2), fans.slice(0, 2))
    t.same(await outbox.followerChunk(pool, author, fans[1], 2), fans.slice(2, 4))
    t.same(await outbox.followerChunk(pool, author, fans[3], 2), fans.slice(4))
    t.same(await outbox.followerChunk(pool, author, fans[4], 2), [])
  })

  t.test('release hands a worker’s leases back', async (t) => {
    await post('c')
    await claim(10, 'stopping')
    t.same(await claim(10, 'other'), [])
    await outbox.release('stopping')
    t.equal((await claim(10, 'other')).length, 1)
    await pool.query('DELETE FROM fanout_outbox')
  })

  t.test('backlog counts pending rows and the age of the oldest', async (t) => {
    t.same(await outbox.backlog(), { pending: 0, oldest_age_ms: 0 })
    await post('d')
    await pool.query('UPDATE fanout_outbox SET created_at = NOW(3) - INTERVAL 5 SECOND')
    await post('e')
    const backlog = await outbox.backlog()
    t.equal(backlog.pending, 2)
    t.ok(backlog.oldest_age_ms >= 5000 && backlog.oldest_age_ms < 60_000, `oldest ${backlog.oldest_age_ms} ms`)
  })

  t.test('enqueue records a retweet’s copy or a restore for the worker', async (t) => {
    await pool.query('DELETE FROM fanout_outbox')
    const original = await post('retweeted')
    const retweet = (await tweets.addRetweet(pool, fans[0], original))!
    await pool.query('DELETE FROM fanout_outbox')
    await outbox.enqueue(pool, 'copy', retweet, fans[0], original)
    await outbox.enqueue(pool, 'restore', original, fans[1])
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT kind, tweet_id, author_id, original_id, claimed_by FROM fanout_outbox ORDER BY id'
    )
    t.same(rows, [
      { kind: 'copy', tweet_id: retweet, author_id: fans[0], original_id: original, claimed_by: null },
      { kind: 'restore', tweet_id: original, author_id: fans[1], original_id: null, claimed_by: null }
    ])
    await pool.query('DELETE FROM fanout_outbox')
  })

  t.test('followerCounts reads each author’s counter', async (t) => {
    t.same(
      await outbox.followerCounts([author, fans[0], 999_999]),
      new Map([
        [author, fans.length],
        [fans[0], 0]
      ])
    )
    t.same(await outbox.followerCounts([]), new Map(), 'no authors: no statement')
  })

  t.test('copyToAllFollowers and finishMany act only on the copy rows the worker holds', async (t) => {
    await pool.query('DELETE FROM fanout_outbox')
    const [mine, theirs] = [await post('mine'), await post('theirs')]
    const [held, other] = await claim(2, 'me')
    await pool.query('UPDATE fanout_outbox SET claimed_by = ? WHERE id = ?', ['them', other.id])
    const owners = async (tweetId: number) => {
      const [rows] = await pool.query<RowDataPacket[]>(
        'SELECT owner_id FROM timeline_entries WHERE tweet_id = ? AND owner_id <> ? ORDER BY owner_id',
        [tweetId, author]
      )
      return rows.map((row) => row.owner_id as number)
    }
    t.equal(await outbox.copyToAllFollowers(pool, [held.id, other.id], 'me'), fans.length, 'one entry per follower')
    t.same(await owners(mine), fans)
    t.same(await owners(theirs), [], 'another worker’s row is not copied')
    t.equal(await outbox.copyToAllFollowers(pool, [held.id], 'me'), 0, 'copied already: nothing new')
    t.equal(await outbox.copyToAllFollowers(pool, [], 'me'), 0)
    await outbox.enqueue(pool, 'restore', mine, author)
    const [restore] = await claim(1, 'me')
    t.equal(await outbox.copyToAllFollowers(pool, [restore.id], 'me'), 0, 'a restore row is not a copy')
    t.equal(await outbox.finishMany(pool, [held.id, other.id, restore.id], 'me'), 2, 'only the rows it holds')
    t.same(
      (await leases()).map((row) => row.claimed_by),
      ['them']
    )
    t.equal(await outbox.finishMany(pool, [], 'me'), 0)
    await pool.query('DELETE FROM fanout_outbox')
  })

  t.test('deleting a tweet removes its pending fan-out', async (t) => {
    const id = await post('f')
    t.ok(
      (await leases()).some((row) => row.tweet_id === id),
      'the post recorded its fan-out'
    )
    await tweets.deleteTweet(pool, id)
    t.notOk((await leases()).some((row) => row.tweet_id === id))
  })
})
