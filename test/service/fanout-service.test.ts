import t from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import { createPool, Transactor } from '../../model/database.ts'
import { BlockDao } from '../../model/block-dao.ts'
import { FanoutDao } from '../../model/fanout-dao.ts'
import { NotificationDao } from '../../model/notification-dao.ts'
import { FollowDao } from '../../model/follow-dao.ts'
import { TimelineDao } from '../../model/timeline-dao.ts'
import { TweetDao } from '../../model/tweet-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { FanoutService, type FanoutSettings } from '../../service/fanout-service.ts'
import { FollowService } from '../../service/follow-service.ts'
import { LocalStorage } from '../../service/storage/local.ts'
import { TweetService } from '../../service/tweet-service.ts'
import { testPool, testPublicUrl, testServerUrl, testUploadDir } from '../helper.ts'

async function setUp(t: { teardown(fn: () => unknown): void }) {
  const pool = await testPool(t)
  const storage = new LocalStorage(await testUploadDir(t), testPublicUrl)
  const userDao = new UserDao(pool)
  const followDao = new FollowDao(pool)
  const timelineDao = new TimelineDao(pool)
  const fanoutDao = new FanoutDao(pool)
  const transactor = new Transactor(pool)
  const tweets = new TweetService(
    transactor,
    new TweetDao(pool),
    timelineDao,
    userDao,
    followDao,
    storage,
    undefined,
    { wake() {} },
    fanoutDao,
    new NotificationDao(pool)
  )
  const follows = new FollowService(
    transactor,
    followDao,
    new BlockDao(pool),
    new NotificationDao(pool),
    timelineDao,
    userDao,
    storage,
    {
      fanoutMaxFollowers: 1000,
      timelineBackfill: 800
    }
  )
  const worker = (settings: Partial<FanoutSettings> = {}) =>
    new FanoutService(transactor, fanoutDao, timelineDao, {
      chunkSize: 2,
      leaseMs: 60_000,
      claimBatch: 10,
      ...settings
    })
  const user = (name: string) =>
    userDao.insertUser({ name, username: name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
  /** Who has the tweet on their timeline, the author included, and how often. */
  const holders = async (tweetId: number) => {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT owner_id, COUNT(*) AS n FROM timeline_entries WHERE tweet_id = ? GROUP BY owner_id ORDER BY owner_id',
      [tweetId]
    )
    return rows.map((row) => ({ owner: row.owner_id as number, n: Number(row.n) }))
  }
  const once = (ids: number[]) => [...ids].sort((a, b) => a - b).map((owner) => ({ owner, n: 1 }))
  const author = await user('author')
  const fans: number[] = []
  for (let i = 0; i < 5; i++) {
    fans.push(await user(`fan${i}`))
    await follows.follow(fans[i], author)
  }
  return { pool, tweets, follows, worker, fanoutDao, transactor, timelineDao, holders, once, author, fans }
}

t.test('a tweet reaches every follower in chunks, and the outbox row goes when it is done', async (t) => {
  const s = await setUp(t)
  const tweet = await s.tweets.tweet(s.author, 'hello fans')
  t.same(await s.holders(tweet.id), s.once([s.author]), 'before fan-out only the author has it')
  const worker = s.worker()
  const [row] = await worker.claim()
  t.match(row, { tweet_id: tweet.id, author_id: s.author, done_through: 0, attempts: 1 })
  t.same(await worker.fanOut(row), { copied: 5, completed: true })
  t.same(await s.holders(tweet.id), s.once([s.author, ...s.fans]))
  t.same(await worker.backlog(), { pending: 0, oldest_pending_seconds: 0 })
  t.equal(await worker.runOnce(), 0, 'nothing left to claim')
})

t.test('backlog gives the oldest pending row’s age in seconds', async (t) => {
  const s = await setUp(t)
  await s.tweets.tweet(s.author, 'waiting an hour')
  await s.pool.query('UPDATE fanout_outbox SET created_at = NOW(3) - INTERVAL 1 HOUR')
  const backlog = await s.worker().backlog()
  t.equal(backlog.pending, 1)
  // The only slack is the time between the update and the read.
  t.ok(
    backlog.oldest_pending_seconds >= 3600 && backlog.oldest_pending_seconds < 3660,
    `${backlog.oldest_pending_seconds} s`
  )
})

t.test('a fan-out resumes where the last committed chunk stopped, and a replay copies nothing twice', async (t) => {
  const s = await setUp(t)
  const tweet = await s.tweets.tweet(s.author, 'resumed')
  // As if a worker copied to the first two followers, committed that chunk and died.
  await s.timelineDao.addToTimelines(s.pool, tweet.id, s.author, s.fans.slice(0, 2))
  await s.pool.query('UPDATE fanout_outbox SET done_through = ?', [s.fans[1]])
  const worker = s.worker()
  const [row] = await worker.claim()
  t.equal(row.done_through, s.fans[1])
  t.same(await worker.fanOut(row), { copied: 3, completed: true }, 'only the followers after the progress mark')
  t.same(await s.holders(tweet.id), s.once([s.author, ...s.fans]))

  // A replay from the start (progress lost) finds every copy in place.
  const again = await s.tweets.tweet(s.author, 'replayed')
  const first = s.worker()
  const [claimed] = await first.claim()
  t.same(await first.fanOut(claimed), { copied: 5, completed: true })
  await s.pool.query('INSERT INTO fanout_outbox (tweet_id, author_id) VALUES (?, ?)', [again.id, s.author])
  t.same(await first.fanOut((await first.claim())[0]), { copied: 0, completed: true })
  t.same(await s.holders(again.id), s.once([s.author, ...s.fans]))
})

t.test(
  'an expired lease is taken over; the old holder stops without a trace and nothing is copied twice',
  async (t) => {
    const s = await setUp(t)
    const tweet = await s.tweets.tweet(s.author, 'contested')
    const stalled = s.worker({ leaseMs: 100 })
    const [mine] = await stalled.claim()
    await new Promise((resolve) => setTimeout(resolve, 150))
    const successor = s.worker()
    const [taken] = await successor.claim()
    t.match(taken, { id: mine.id, attempts: 2 }, 'the expired row was claimed again')
    t.same(await stalled.fanOut(mine), { copied: 0, completed: false }, 'its first chunk was rolled back')
    t.same(await s.holders(tweet.id), s.once([s.author]))
    t.same(await successor.fanOut(taken), { copied: 5, completed: true })
    t.same(await s.holders(tweet.id), s.once([s.author, ...s.fans]))
  }
)

t.test('a database error in a chunk reaches the caller; the row stays pending where it was', async (t) => {
  const s = await setUp(t)
  const tweet = await s.tweets.tweet(s.author, 'unlucky')
  const [row] = await s.worker().claim()
  const closed = createPool(await testServerUrl())
  await closed.end()
  const broken = new FanoutService(new Transactor(closed), s.fanoutDao, s.timelineDao, {
    chunkSize: 2,
    leaseMs: 60_000,
    claimBatch: 10
  })
  await t.rejects(broken.fanOut(row), /closed/i, 'not taken for a lost lease')
  const [rows] = await s.pool.query<RowDataPacket[]>('SELECT tweet_id, done_through FROM fanout_outbox')
  t.same(
    rows.map((r) => [r.tweet_id, r.done_through]),
    [[tweet.id, 0]]
  )
  t.same(await s.holders(tweet.id), s.once([s.author]))
})

t.test('a worker stopping hands back the rows it claimed but did not begin', async (t) => {
  const s = await setUp(t)
  await s.tweets.tweet(s.author, 'one')
  await s.tweets.tweet(s.author, 'two')
  const stopping = s.worker()
  t.equal(await stopping.runOnce(() => false), 2, 'claimed both, began none')
  const other = s.worker()
  t.same(await other.claim(), [])
  await stopping.releaseClaims()
  t.equal((await other.claim()).length, 2)
})

t.test('an unfollow while a chunk is copying waits for it, then removes the copy', async (t) => {
  const s = await setUp(t)
  const tweet = await s.tweets.tweet(s.author, 'racing an unfollow')
  const [row] = await s.worker().claim()
  const connection = await s.pool.getConnection()
  let unfollowed = false
  try {
    await connection.beginTransaction()
    const chunk = await s.fanoutDao.followerChunk(connection, s.author, row.done_through, 10)
    const unfollow = s.follows.unfollow(s.fans[0], s.author).then(() => (unfollowed = true))
    await s.timelineDao.addToTimelines(connection, tweet.id, s.author, chunk)
    await new Promise((resolve) => setTimeout(resolve, 200))
    t.equal(unfollowed, false, 'the unfollow waits for the chunk')
    await connection.commit()
    await unfollow
  } finally {
    connection.release()
  }
  t.same(await s.holders(tweet.id), s.once([s.author, ...s.fans.slice(1)]))
})

t.test('an unfollow that commits first is seen by the next chunk', async (t) => {
  const s = await setUp(t)
  const tweet = await s.tweets.tweet(s.author, 'after an unfollow')
  const worker = s.worker()
  const [row] = await worker.claim()
  await s.follows.unfollow(s.fans[3], s.author)
  t.same(await worker.fanOut(row), { copied: 4, completed: true })
  t.same(await s.holders(tweet.id), s.once([s.author, ...s.fans.filter((fan) => fan !== s.fans[3])]))
})

t.test('a tweet deleted before or during its fan-out never reappears', async (t) => {
  const s = await setUp(t)
  const tweet = await s.tweets.tweet(s.author, 'regretted')
  const worker = s.worker()
  const [row] = await worker.claim()
  await s.tweets.deleteTweet(s.author, tweet.id)
  t.same(await worker.fanOut(row), { copied: 0, completed: false })
  t.same(await s.holders(tweet.id), [])
  t.same(await worker.backlog(), { pending: 0, oldest_pending_seconds: 0 })
})

t.test('an edit during fan-out shows on every timeline, since entries point at the tweet', async (t) => {
  const s = await setUp(t)
  const tweet = await s.tweets.tweet(s.author, 'first draft')
  await s.tweets.editTweet(s.author, tweet.id, 'final text')
  await s.worker().drain()
  for (const fan of s.fans) {
    t.equal((await s.tweets.timelineFor(fan, { limit: 1 })).items[0].tweet, 'final text')
  }
})

t.test('two workers draining at once copy every tweet to every follower exactly once', async (t) => {
  const s = await setUp(t)
  const ids: number[] = []
  for (let i = 0; i < 30; i++) ids.push((await s.tweets.tweet(s.author, `burst ${i}`)).id)
  const [a, b] = [s.worker({ claimBatch: 3 }), s.worker({ claimBatch: 3 })]
  await Promise.all([a.drain(), b.drain()])
  for (const id of ids) t.same(await s.holders(id), s.once([s.author, ...s.fans]), `tweet ${id}`)
})

t.test('drain waits for rows leased to another worker and copies them once the lease ends', async (t) => {
  const s = await setUp(t)
  const tweet = await s.tweets.tweet(s.author, 'held elsewhere')
  t.equal((await s.worker({ leaseMs: 300 }).claim()).length, 1, 'another worker holds the row and stops')
  await s.worker().drain()
  t.same(await s.holders(tweet.id), s.once([s.author, ...s.fans]))
  t.equal((await s.worker().backlog()).pending, 0)
})

t.test(
  'small fan-outs are copied in groups that fit a chunk; a row whose lease moved on is left to its holder',
  async (t) => {
    const s = await setUp(t)
    for (let i = 0; i < 3; i++) await s.follows.follow(s.author, s.fans[i])
    // Three tweets with one follower each (the author) and one with five: groups of at most six followers.
    const others: number[] = []
    for (let i = 0; i < 3; i++) others.push((await s.tweets.tweet(s.fans[i], `fan ${i} speaks`)).id)
    const own = (await s.tweets.tweet(s.author, 'to all five')).id
    const ids = [...others, own]
    const worker = s.worker({ chunkSize: 6 })
    const [first, ...rest] = await worker.claim()
    await s.pool.query("UPDATE fanout_outbox SET claimed_by = 'someone else' WHERE id = ?", [first.id])
    await s.pool.query('UPDATE fanout_outbox SET claimed_by = NULL, claimed_until = NULL WHERE id <> ?', [first.id])
    t.equal(await worker.runOnce(), rest.length, 'claimed the free rows again')
    t.same(await s.holders(ids[0]), s.once([s.fans[0]]), 'the row held by someone else was not copied')
    t.same(await s.holders(ids[1]), s.once([s.author, s.fans[1]]))
    t.same(await s.holders(ids[2]), s.once([s.author, s.fans[2]]))
    t.same(await s.holders(own), s.once([s.author, ...s.fans]))
    t.same((await worker.backlog()).pending, 1, 'only the row held by someone else is left')
  }
)

t.test(
  'runOnce copies small fan-outs in groups of at most chunkSize followers, then the larger ones, asking proceed() before each',
  async (t) => {
    const s = await setUp(t)
    const [exact, small1, small2] = [s.fans[0], s.fans[3], s.fans[4]]
    // Followers: the author 5 (more than a chunk of 2), exact 2 (a chunk), small1 and small2 one each.
    await s.follows.follow(s.fans[1], exact)
    await s.follows.follow(s.fans[2], exact)
    await s.follows.follow(small2, small1)
    await s.follows.follow(small1, small2)
    const large = (await s.tweets.tweet(s.author, 'large')).id
    const full = (await s.tweets.tweet(exact, 'a full chunk')).id
    const one = (await s.tweets.tweet(small1, 'one follower')).id
    const two = (await s.tweets.tweet(small2, 'one follower too')).id
    const worker = s.worker()
    const pending = async () => {
      const [rows] = await s.pool.query<RowDataPacket[]>('SELECT tweet_id FROM fanout_outbox ORDER BY tweet_id')
      return rows.map((row) => row.tweet_id as number)
    }
    /** One runOnce whose proceed() answers true once, then false; the rows not begun are handed back. */
    const runOneStep = async () => {
      let budget = 1
      const before = (await pending()).length
      t.equal(await worker.runOnce(() => budget-- > 0), before, 'claimed every pending row')
      await worker.releaseClaims()
    }
    await runOneStep()
    t.same(await pending(), [large, one, two], 'first the group of the full chunk alone')
    t.same(await s.holders(full), s.once([exact, s.fans[1], s.fans[2]]))
    await runOneStep()
    t.same(await pending(), [large], 'then the two single followers together, before the large one')
    t.same(await s.holders(one), s.once([small1, small2]))
    t.same(await s.holders(two), s.once([small1, small2]))
    await runOneStep()
    t.same(await pending(), [], 'the large one alone, chunk by chunk')
    t.same(await s.holders(large), s.once([s.author, ...s.fans]))
  }
)

t.test('a begun row resumes after its mark, though its followers would fit a group', async (t) => {
  const s = await setUp(t)
  const tweet = await s.tweets.tweet(s.author, 'half done')
  await s.pool.query('UPDATE fanout_outbox SET done_through = ?', [s.fans[1]])
  t.equal(await s.worker({ chunkSize: 6 }).runOnce(), 1)
  t.same(
    await s.holders(tweet.id),
    s.once([s.author, ...s.fans.slice(2)]),
    'the followers up to the mark are not copied again'
  )
})

t.test(
  'a retweet reaches the retweeter’s followers chunk by chunk; an undone one is restored the same way',
  async (t) => {
    const s = await setUp(t)
    const [poet, echo] = [s.fans[0], s.fans[4]]
    const poem = (await s.tweets.tweet(poet, 'a line worth repeating')).id
    /** Who shows the poem, through which row. */
    const entries = async () => {
      const [rows] = await s.pool.query<RowDataPacket[]>(
        'SELECT owner_id, tweet_id FROM timeline_entries WHERE shown_id = ? ORDER BY owner_id',
        [poem]
      )
      return rows.map((row) => [row.owner_id as number, row.tweet_id as number])
    }
    const byOwner = (rows: number[][]) => rows.sort((a, b) => a[0] - b[0])
    const worker = s.worker()
    await s.tweets.retweet(s.author, poem)
    const [copy] = await worker.claim()
    t.match(copy, { kind: 'copy', author_id: s.author, original_id: poem })
    t.same(await worker.fanOut(copy), { copied: 4, completed: true }, 'in chunks of two; the poet has the poem')
    const retweet = copy.tweet_id
    t.same(
      await entries(),
      byOwner([[poet, poem], [s.author, retweet], ...s.fans.slice(1).map((fan) => [fan, retweet])])
    )
    // Two fans also follow the echo, who retweets the poem too: hidden behind the author's retweet so far.
    await s.follows.follow(s.fans[1], echo)
    await s.follows.follow(s.fans[2], echo)
    await s.tweets.retweet(echo, poem)
    await worker.drain()
    const [echoed] = await s.pool.query<RowDataPacket[]>('SELECT id FROM tweets WHERE retweet_of = ? AND user_id = ?', [
      poem,
      echo
    ])
    const echoId = echoed[0].id as number
    await s.tweets.unretweet(s.author, poem)
    const [restore] = await worker.claim()
    t.match(restore, { kind: 'restore', tweet_id: poem, author_id: s.author, original_id: null })
    t.same(await worker.fanOut(restore), { copied: 3, completed: true }, 'two fans and the echo itself')
    t.same(
      await entries(),
      byOwner([
        [poet, poem],
        [s.fans[1], echoId],
        [s.fans[2], echoId],
        [echo, echoId]
      ]),
      'the fans who follow the echo see its retweet; the others, and the author, no longer see the poem'
    )
  }
)
