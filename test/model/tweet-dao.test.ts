import t from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import { Transactor } from '../../model/database.ts'
import { FanoutDao } from '../../model/fanout-dao.ts'
import { FollowDao } from '../../model/follow-dao.ts'
import { TimelineDao } from '../../model/timeline-dao.ts'
import { ReplyParentMissing, TweetDao } from '../../model/tweet-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { rejection, rowsRead, testPool } from '../helper.ts'

/** The newest ids below `before`: a page read towards older. */
const newestBelow = (before: number) => ({ after: 0, before, oldestFirst: false })

t.test('TweetDao, FollowDao and TimelineDao', async (t) => {
  const pool = await testPool(t)
  const users = new UserDao(pool)
  const tweets = new TweetDao(pool)
  const follows = new FollowDao(pool)
  const timelines = new TimelineDao(pool)
  const transactor = new Transactor(pool)
  const outbox = new FanoutDao(pool)
  const user = (name: string) =>
    users.insertUser({ name, username: name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
  const [alice, bob, carol] = [await user('alice'), await user('bob'), await user('carol')]
  /** Posts and, as a fan-out worker would, copies the tweet to every follower. */
  const post = async (author: number, text: string) => {
    const { id } = (await tweets.postTweet(author, text))!
    await timelines.addToTimelines(pool, id, author, await outbox.followerChunk(pool, author, 0, 1000))
    return id
  }
  const outboxRows = async () => {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT tweet_id, author_id, done_through FROM fanout_outbox ORDER BY id'
    )
    await pool.query('DELETE FROM fanout_outbox')
    return rows
  }

  t.test('follow and unfollow are idempotent and move both counters', async (t) => {
    t.equal(await follows.follow(pool, alice, bob), true)
    await follows.addFollowCounts(pool, alice, bob, 1)
    t.equal(await follows.follow(pool, alice, bob), false)
    t.match(await users.profileById(alice), { following_count: 1, followers_count: 0 })
    t.match(await users.profileById(bob), { following_count: 0, followers_count: 1 })
    t.equal(await follows.follow(pool, alice, carol), true)
    t.equal(await follows.unfollow(pool, alice, carol), true)
    t.equal(await follows.unfollow(pool, alice, carol), false)
  })

  t.test('counterparts: whom a user follows and who follows them, each once, at most the limit', async (t) => {
    const [dora, eve, fay] = [await user('dora'), await user('eve'), await user('fay')]
    await follows.follow(pool, dora, eve)
    await follows.follow(pool, eve, dora)
    await follows.follow(pool, fay, dora)
    t.same((await follows.counterparts(pool, dora, 10)).sort(), [eve, fay].sort(), 'both ways, each once')
    t.equal((await follows.counterparts(pool, dora, 1)).length, 1)
    t.same(await follows.counterparts(pool, 424242, 10), [])
    t.test('lists leave out a deactivated account', async (t) => {
      await transactor.run((connection) => users.deactivate(connection, fay, 3600))
      t.same(
        (await follows.followers(dora, Number.MAX_SAFE_INTEGER, 10)).map((row) => row.id),
        [eve],
        'followers'
      )
      await follows.follow(pool, dora, fay)
      t.same(
        (await follows.following(dora, Number.MAX_SAFE_INTEGER, 10)).map((row) => row.id),
        [eve],
        'following'
      )
    })
  })

  t.test('followersAmong: which of some users follow an author, by audience', async (t) => {
    const [star, x, y, z] = [await user('star'), await user('fan_x'), await user('fan_y'), await user('fan_z')]
    for (const fan of [x, y]) await follows.follow(pool, fan, star)
    t.same((await follows.followersAmong(star, [x, y, z], 'followers')).sort(), [x, y].sort())
    t.same(await follows.followersAmong(star, [x, y, z], { after: x, through: y }), [y], 'ids in (after, through]')
    t.same(await follows.followersAmong(star, [x, y], 'pulled'), [], 'none while the author is pushed')
    await users.setFanout(pool, star, 'pull')
    t.same((await follows.followersAmong(star, [x, y, z], 'pulled')).sort(), [x, y].sort())
    t.same(await follows.followersAmong(star, [], 'followers'), [], 'nobody asked: no statement')
  })

  t.test('retweetedIds and newestIdsBy: a user’s retweets in order, and own tweets newest first', async (t) => {
    const gil = await user('gil')
    const [first, second] = [await post(alice, 'first'), await post(alice, 'second')]
    const own = [await post(gil, 'one'), await post(gil, 'two'), await post(gil, 'three')]
    await tweets.addRetweet(pool, gil, second)
    await tweets.addRetweet(pool, gil, first)
    t.same(await tweets.retweetedIds(gil, 10), [second, first], 'in the order retweeted')
    t.same(await tweets.retweetedIds(gil, 1), [second])
    t.same(await tweets.newestIdsBy(gil, 10), [...own].reverse(), 'retweets are not its own tweets')
    t.same(await tweets.newestIdsBy(gil, 2), [own[2], own[1]])
  })

  t.test('inserts a tweet and reads it back with its author', async (t) => {
    const id = await post(alice, '첫 트윗 🎉')
    t.match(await tweets.tweetById(id), { id, user_id: alice, tweet: '첫 트윗 🎉', edited_at: null, media_count: 0 })
  })

  t.test('a tweet over 300 code points is refused and leaves nothing behind', async (t) => {
    const before = await users.profileById(alice)
    await t.rejects(tweets.postTweet(alice, 'a'.repeat(301)))
    t.same(await users.profileById(alice), before, 'the counter was rolled back')
    t.ok(await tweets.postTweet(alice, '😀'.repeat(300)))
    await outboxRows()
  })

  t.test('postTweet records the tweet, counter, own entry and a fan-out row, and answers the author', async (t) => {
    const count = (await users.profileById(bob))!.tweets_count
    const posted = await tweets.postTweet(bob, 'recorded')
    t.match(posted, { name: 'bob', username: 'bob', profile_picture: null })
    t.ok(posted!.created_at instanceof Date)
    t.match(await tweets.tweetById(posted!.id), { user_id: bob, tweet: 'recorded', created_at: posted!.created_at })
    t.equal((await users.profileById(bob))!.tweets_count, count + 1)
    t.same(
      (await timelines.page(bob, newestBelow(Number.MAX_SAFE_INTEGER), 1)).map((row) => row.id),
      [posted!.id]
    )
    t.notOk(
      (await timelines.page(alice, newestBelow(Number.MAX_SAFE_INTEGER), 100)).some((row) => row.id === posted!.id),
      'followers get it from a worker'
    )
    t.same(await outboxRows(), [{ tweet_id: posted!.id, author_id: bob, done_through: 0 }])
    t.equal(await tweets.postTweet(999999, 'nobody'), undefined, 'an unknown author records nothing')
  })

  t.test('a post that fails at its last step leaves nothing behind: it is its own transaction', async (t) => {
    const parent = (await tweets.postTweet(alice, 'a parent'))!.id
    await outboxRows()
    const before = await users.profileById(bob)
    // A failure injected into the post's last statement (bob has followers: the fan-out row).
    await pool.query(
      "CREATE TRIGGER fail_fanout BEFORE INSERT ON fanout_outbox FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected'"
    )
    try {
      const error = await rejection(() => tweets.postTweet(bob, 'doomed', parent))
      t.notOk(error instanceof ReplyParentMissing, 'another failure of the procedure is not a missing parent')
      t.match(error, { sqlState: '45000', sqlMessage: 'injected' })
    } finally {
      await pool.query('DROP TRIGGER fail_fanout')
    }
    t.same(await users.profileById(bob), before, 'the counter was rolled back')
    t.match(await tweets.tweetById(parent), { reply_count: 0 })
    const [rows] = await pool.query<RowDataPacket[]>("SELECT id FROM tweets WHERE tweet = 'doomed'")
    t.same(rows, [], 'no tweet')
  })

  t.test('an author without followers needs no fan-out row', async (t) => {
    const dave = await user('dave')
    const posted = await tweets.postTweet(dave, 'to nobody')
    t.same(await outboxRows(), [])
    t.same(
      (await timelines.page(dave, newestBelow(Number.MAX_SAFE_INTEGER), 10)).map((row) => row.id),
      [posted!.id]
    )
  })

  t.test('postTweetIn joins the caller’s transaction: a rollback leaves nothing', async (t) => {
    const count = (await users.profileById(bob))!.tweets_count
    const connection = await pool.getConnection()
    let id = 0
    try {
      await connection.beginTransaction()
      id = (await tweets.postTweetIn(connection, bob, 'rolled back'))!.id
      await connection.rollback()
    } finally {
      connection.release()
    }
    t.equal(await tweets.tweetById(id), undefined)
    t.equal((await users.profileById(bob))!.tweets_count, count)
    t.same(await outboxRows(), [])
  })

  t.test('addMediaCount moves the media counter; a remembered tweet is answered from the cache', async (t) => {
    const id = await post(alice, 'with pictures')
    await tweets.addMediaCount(pool, id, 2)
    t.match(await tweets.tweetById(id), { media_count: 2 })
    const cached = new TweetDao(pool, pool, { ttlMs: 60_000, maxEntries: 10 })
    const row = (await tweets.tweetById(id))!
    cached.rememberTweet({ ...row, tweet: 'as remembered' })
    t.equal((await cached.tweetsByIds([id])).get(id)?.tweet, 'as remembered')
    cached.forgetTweet(id)
    t.equal((await cached.tweetsByIds([id])).get(id)?.tweet, 'with pictures')
  })

  t.test('addToTimelines copies a tweet once per owner, however often it runs', async (t) => {
    const { id } = (await tweets.postTweet(bob, 'x'))!
    t.equal(await timelines.addToTimelines(pool, id, bob, [alice, carol]), 2)
    t.equal(await timelines.addToTimelines(pool, id, bob, [alice, carol]), 0)
    t.equal(await timelines.addToTimelines(pool, id, bob, []), 0)
    await timelines.removeAuthor(pool, carol, bob)
    await outboxRows()
  })

  t.test('page reads one owner’s entries newest first, below the cursor', async (t) => {
    const a = await post(bob, 'bob 1')
    const b = await post(bob, 'bob 2')
    const page = await timelines.page(alice, newestBelow(Number.MAX_SAFE_INTEGER), 2)
    t.same(
      page.map((row) => row.id),
      [b, a]
    )
    t.same(
      (await timelines.page(alice, newestBelow(b), 1)).map((row) => row.id),
      [a]
    )
    t.same(await timelines.page(carol, newestBelow(Number.MAX_SAFE_INTEGER), 10), [])
  })

  t.test('removeAuthor drops an author’s entries from one timeline', async (t) => {
    const before = await timelines.page(alice, newestBelow(Number.MAX_SAFE_INTEGER), 100)
    const others = await timelines.page(bob, newestBelow(Number.MAX_SAFE_INTEGER), 100)
    t.ok(
      before.some((row) => row.user_id === bob) && before.some((row) => row.user_id === alice),
      'alice’s timeline holds tweets of both'
    )
    await timelines.removeAuthor(pool, alice, bob)
    t.same(
      (await timelines.page(alice, newestBelow(Number.MAX_SAFE_INTEGER), 100)).map((row) => row.id),
      before.filter((row) => row.user_id !== bob).map((row) => row.id),
      'only bob’s entries are gone'
    )
    t.same(
      await timelines.page(bob, newestBelow(Number.MAX_SAFE_INTEGER), 100),
      others,
      'bob’s own timeline is untouched'
    )
  })

  t.test('backfill copies the newest tweets and reports where the left-out ones begin', async (t) => {
    const ids = [await post(carol, 'c1'), await post(carol, 'c2'), await post(carol, 'c3')]
    const gap = await transactor.run((c) => timelines.backfill(c, alice, carol, 2))
    t.equal(gap, ids[0] + 1)
    const page = await timelines.page(alice, newestBelow(Number.MAX_SAFE_INTEGER), 100)
    t.same(
      page.filter((row) => row.user_id === carol).map((row) => row.id),
      [ids[2], ids[1]]
    )
    t.equal(await transactor.run((c) => timelines.backfill(c, bob, carol, 10)), undefined)
  })

  t.test('gaps set the horizon to the highest one; removing an author removes its gap', async (t) => {
    await transactor.run(async (c) => {
      await timelines.addGap(c, bob, carol, 50)
      await timelines.addGap(c, bob, alice, 70)
    })
    t.match(await users.timelineState(bob), { timeline_horizon: 70 })
    await timelines.removeAuthor(pool, bob, alice)
    t.match(await users.timelineState(bob), { timeline_horizon: 50 })
    await timelines.removeAuthor(pool, bob, alice)
    t.match(await users.timelineState(bob), { timeline_horizon: 50 }, 'an author without a gap changes nothing')
    await timelines.removeAuthor(pool, bob, carol)
    t.match(await users.timelineState(bob), { timeline_horizon: 0 })
  })

  t.test('byAuthors reads each account below its own bound, newest first', async (t) => {
    const rows = await timelines.byAuthors(
      [
        { author_id: carol, after: 0, before: Number.MAX_SAFE_INTEGER },
        { author_id: bob, after: 0, before: Number.MAX_SAFE_INTEGER }
      ],
      3
    )
    t.equal(rows.length, 3)
    t.same(
      rows.map((row) => row.id),
      [...rows.map((row) => row.id)].sort((a, b) => b - a)
    )
    const newestOfCarol = rows.find((row) => row.user_id === carol)!.id
    const below = await timelines.byAuthors([{ author_id: carol, after: 0, before: newestOfCarol }], 10)
    t.ok(below.length > 0 && below.every((row) => row.user_id === carol && row.id < newestOfCarol))
    t.same(await timelines.byAuthors([], 3), [])
  })

  t.test('oldestFirst reads each window from its old end: byAuthors, headAuthors and the table page', async (t) => {
    const [carols] = await pool.query<RowDataPacket[]>('SELECT id FROM tweets WHERE user_id = ? ORDER BY id', [carol])
    const ids = carols.map((row) => row.id as number)
    t.ok(ids.length >= 3, `carol has ${ids.length} tweets`)
    const [first, second, third] = ids
    const window = { author_id: carol, after: first, before: Number.MAX_SAFE_INTEGER }
    t.same(
      (await timelines.byAuthors([window], 2, true)).map((row) => row.id),
      [second, third],
      'the two just above `after`, oldest first'
    )
    t.same(
      (await timelines.byAuthors([{ ...window, before: third }], 5, true)).map((row) => row.id),
      [second],
      'nothing at or above `before`'
    )
    t.same(await timelines.headAuthors([window], 5, true), [{ id: second, user_id: carol }])
    const entries = await timelines.page(carol, { after: first, before: Number.MAX_SAFE_INTEGER, oldestFirst: true }, 2)
    t.same(
      entries.map((row) => row.id),
      [second, third],
      'the owner’s entries above `after`, oldest first'
    )
  })

  t.test('gaps lists the accounts whose missing tweets lie above a floor', async (t) => {
    await transactor.run(async (c) => {
      await timelines.addGap(c, alice, carol, 40)
      await timelines.addGap(c, alice, bob, 60)
    })
    const authors = async (floor: number) => (await timelines.gaps(alice, floor)).map((gap) => gap.author_id).sort()
    t.same(await authors(0), [bob, carol].sort())
    t.same(await authors(38), [bob, carol].sort())
    t.same(await authors(39), [bob], 'a gap below id 40 holds nothing above 39')
    t.same(await authors(59), [])
    await timelines.removeAuthor(pool, alice, carol)
    await timelines.removeAuthor(pool, alice, bob)
  })

  t.test('newestAuthors picks the accounts whose newest tweet in range is newest', async (t) => {
    const c = await post(carol, 'c newest')
    const b = await post(bob, 'b newest')
    const all = Number.MAX_SAFE_INTEGER
    const ranges = [
      { author_id: carol, after: 0, before: all },
      { author_id: bob, after: 0, before: all },
      { author_id: alice, after: 0, before: all }
    ]
    t.same(await timelines.headAuthors(ranges, 2), [
      { id: b, user_id: bob },
      { id: c, user_id: carol }
    ])
    const belowB = await timelines.headAuthors([{ author_id: bob, after: 0, before: b }], 1)
    t.ok(belowB[0].id < b, 'each account is read below its own bound')
    t.same(await timelines.headAuthors([], 2), [])
  })

  t.test('fromFollowGraph reads the owner’s and followees’ tweets within an id window', async (t) => {
    const all = Number.MAX_SAFE_INTEGER
    const graph = await timelines.fromFollowGraph(alice, 0, all, 100)
    t.same(new Set(graph.map((row) => row.user_id)), new Set([alice, bob]), 'alice follows bob, not carol')
    t.same(
      graph.map((row) => row.id),
      [...graph.map((row) => row.id)].sort((a, b) => b - a)
    )
    const [newest, second] = graph
    t.same(
      (await timelines.fromFollowGraph(alice, second.id, all, 100)).map((row) => row.id),
      [newest.id, second.id]
    )
    t.same(
      (await timelines.fromFollowGraph(alice, 0, newest.id, 1)).map((row) => row.id),
      [second.id]
    )
  })

  t.test('edits set edited_at; deletes cascade to timeline entries', async (t) => {
    const id = await post(bob, 'to edit')
    await tweets.updateTweet(pool, id, 'edited', null)
    const edited = await tweets.tweetById(id)
    t.equal(edited!.tweet, 'edited')
    t.ok(edited!.edited_at instanceof Date)
    t.equal(await tweets.authorForUpdate(pool, id), bob)
    t.ok(
      (await timelines.page(bob, newestBelow(Number.MAX_SAFE_INTEGER), 100)).some((row) => row.id === id),
      'on its timeline'
    )
    await tweets.deleteTweet(pool, id)
    t.equal(await tweets.tweetById(id), undefined)
    t.notOk((await timelines.page(bob, newestBelow(Number.MAX_SAFE_INTEGER), 100)).some((row) => row.id === id))
  })

  t.test('setMentions records a post’s mentions; updateTweet replaces them with the new text’s, or none', async (t) => {
    const id = await post(bob, 'hi @alice')
    t.equal((await tweets.tweetById(id))!.mentions, null, 'a post names nobody until its mentions are set')
    const named = JSON.stringify([{ id: alice, username: 'alice' }])
    await tweets.setMentions(pool, id, named)
    t.equal((await tweets.tweetById(id))!.mentions, named)
    t.equal((await tweets.tweetsByIds([id])).get(id)!.mentions, named, 'read through the cache too')
    await tweets.updateTweet(pool, id, 'hi nobody', null)
    t.match(await tweets.tweetById(id), { tweet: 'hi nobody', mentions: null })
  })

  t.test('pull accounts: pulled follows and counters', async (t) => {
    await transactor.run(async (c) => {
      await users.setFanout(c, bob, 'pull')
      await follows.convertFollowersToPulled(c, bob)
    })
    t.same(await follows.pulledFollowees(alice), [bob])
    t.match(await users.timelineState(alice), { pulled_following_count: 1 })
    t.equal(await follows.addPulledFollow(pool, alice, bob), false, 'already pulled: nothing new')
    t.match(await users.timelineState(alice), { pulled_following_count: 1 }, 'and the counter stays')
    await follows.removePulledFollow(pool, alice, bob)
    t.same(await follows.pulledFollowees(alice), [])
    t.match(await users.timelineState(alice), { pulled_following_count: 0 })
    t.equal(await follows.addPulledFollow(pool, alice, bob), true, 'a new pulled follow')
    t.equal(await follows.addPulledFollow(pool, alice, bob), false, 'repeated')
    t.same(await follows.pulledFollowees(alice), [bob])
    t.match(await users.timelineState(alice), { pulled_following_count: 1 }, 'counted once')
    await follows.removePulledFollow(pool, alice, bob)
    await follows.removePulledFollow(pool, alice, bob)
    t.match(await users.timelineState(alice), { pulled_following_count: 0 }, 'a repeated removal counts nothing')
    t.match(await users.lockPair(pool, alice, bob), { fanout: 'pull' })
  })

  t.test('follower and following lists page by user id', async (t) => {
    await follows.follow(pool, carol, bob)
    t.same(
      (await follows.followers(bob, Number.MAX_SAFE_INTEGER, 10)).map((u) => u.id),
      [carol, alice]
    )
    t.same(
      (await follows.followers(bob, carol, 10)).map((u) => u.id),
      [alice]
    )
    t.same(
      (await follows.following(carol, Number.MAX_SAFE_INTEGER, 10)).map((u) => u.id),
      [bob]
    )
  })
})

t.test('tweetsByIds: a page of tweets from memory, forgotten when this process changes one', async (t) => {
  const pool = await testPool(t)
  const users = new UserDao(pool)
  const author = await users.insertUser({
    name: 'alice',
    username: 'alice',
    email: 'alice@example.com',
    profile: '',
    hashedPassword: 'x'
  })
  const cached = new TweetDao(pool, pool, { ttlMs: 60_000, maxEntries: 100 })
  const direct = new TweetDao(pool)
  const transactor = new Transactor(pool)
  const [first, second] = [(await direct.postTweet(author, 'one'))!.id, (await direct.postTweet(author, 'two'))!.id]
  const texts = async (dao: TweetDao) =>
    [...(await dao.tweetsByIds([first, second, 999_999])).values()].map((row) => row.tweet).sort()

  t.same(await texts(cached), ['one', 'two'], 'unknown ids are absent')
  await transactor.run((connection) => direct.updateTweet(connection, first, 'one, edited', null))
  t.same(await texts(cached), ['one', 'two'], 'an edit made elsewhere is not seen before the entry is old')
  t.same(await texts(direct), ['one, edited', 'two'], 'without a TTL every read asks the database')
  cached.forgetTweet(first)
  t.same(await texts(cached), ['one, edited', 'two'], 'forgotten, it is read again')
  await transactor.run((connection) => direct.deleteTweet(connection, second))
  cached.forgetTweet(second)
  t.same(await texts(cached), ['one, edited'], 'a deleted tweet is gone once forgotten')
})

t.test('replies and thread links', async (t) => {
  const pool = await testPool(t)
  const users = new UserDao(pool)
  const tweets = new TweetDao(pool)
  const transactor = new Transactor(pool)
  const user = (name: string) =>
    users.insertUser({ name, username: name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
  const [alice, bob] = [await user('alice'), await user('bob')]
  const post = async (author: number, text: string, inReplyTo: number | null = null) =>
    (await tweets.postTweet(author, text, inReplyTo))!.id
  const replyCount = async (id: number) => (await tweets.tweetById(id))!.reply_count
  const counts = async () => {
    const [[row]] = await pool.query<RowDataPacket[]>(
      `SELECT (SELECT COUNT(*) FROM tweets) AS tweets, (SELECT COUNT(*) FROM timeline_entries) AS entries,
              (SELECT COUNT(*) FROM fanout_outbox) AS outbox,
              (SELECT SUM(tweets_count) FROM users) AS tweets_counted,
              (SELECT SUM(reply_count) FROM tweets) AS replies_counted`
    )
    return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, Number(value)]))
  }
  const root = await post(alice, 'root')

  t.test('a tweet that answers none has no parent, no conversation and no replies', async (t) => {
    t.match(await tweets.tweetById(root), { in_reply_to: null, conversation_id: null, reply_count: 0 })
  })

  t.test('a reply records its parent and its thread’s root, and counts on its parent', async (t) => {
    const posted = await tweets.postTweet(bob, 'reply', root)
    t.equal(posted!.conversation_id, root)
    t.match(await tweets.tweetById(posted!.id), { in_reply_to: root, conversation_id: root, reply_count: 0 })
    t.equal(await replyCount(root), 1)
    const deeper = await post(alice, 'reply to the reply', posted!.id)
    t.match(await tweets.tweetById(deeper), { in_reply_to: posted!.id, conversation_id: root })
    t.equal(await replyCount(posted!.id), 1)
    t.equal(await replyCount(root), 1, 'only direct replies count')
  })

  t.test('a reply to a tweet that does not exist throws ReplyParentMissing and writes nothing', async (t) => {
    const before = await counts()
    await t.rejects(tweets.postTweet(bob, 'to nothing', 999_999), {
      name: 'ReplyParentMissing',
      inReplyTo: 999_999,
      message: 'in_reply_to 999999: no such tweet'
    })
    const connection = await pool.getConnection()
    try {
      await connection.beginTransaction()
      await t.rejects(tweets.postTweetIn(connection, bob, 'to nothing', 999_999), ReplyParentMissing)
      await connection.commit()
    } finally {
      connection.release()
    }
    t.same(await counts(), before)
  })

  t.test('an unknown author records nothing and counts nothing, whatever the parent', async (t) => {
    const before = await counts()
    t.equal(await tweets.postTweet(999_999, 'nobody', root), undefined)
    t.equal(await tweets.postTweet(999_999, 'nobody', 999_999), undefined, 'the missing author is what is told')
    t.same(await counts(), before)
  })

  t.test('a reply rolled back with its caller’s transaction leaves the parent’s count as it was', async (t) => {
    const before = await counts()
    const connection = await pool.getConnection()
    try {
      await connection.beginTransaction()
      t.ok(await tweets.postTweetIn(connection, bob, 'rolled back', root))
      await connection.rollback()
    } finally {
      connection.release()
    }
    t.same(await counts(), before)
  })

  t.test('lockForDelete reads the author and links; addReplyCount moves only an existing tweet', async (t) => {
    const reply = await post(bob, 'to delete', root)
    t.same(await transactor.run((c) => tweets.lockForDelete(c, reply)), {
      user_id: bob,
      in_reply_to: root,
      conversation_id: root
    })
    t.same(await transactor.run((c) => tweets.lockForDelete(c, root)), {
      user_id: alice,
      in_reply_to: null,
      conversation_id: null
    })
    t.equal(await transactor.run((c) => tweets.lockForDelete(c, 999_999)), undefined)
    const count = await replyCount(root)
    await transactor.run((c) => tweets.addReplyCount(c, root, -1))
    t.equal(await replyCount(root), count - 1)
    await transactor.run((c) => tweets.addReplyCount(c, root, 1))
    await transactor.run((c) => tweets.addReplyCount(c, 999_999, -1))
    t.equal(await replyCount(root), count)
  })

  t.test('ancestors walks up from a parent to the root, oldest first, through tombstones', async (t) => {
    const top = await post(alice, 'top')
    const a = await post(bob, 'a', top)
    const b = await post(alice, 'b', a)
    const c = await post(bob, 'c', b)
    t.same(await tweets.ancestors(c, 100), [
      { id: top, in_reply_to: null, deleted: false },
      { id: a, in_reply_to: top, deleted: false },
      { id: b, in_reply_to: a, deleted: false },
      { id: c, in_reply_to: b, deleted: false }
    ])
    t.same(
      await tweets.ancestors(c, 2),
      [
        { id: b, in_reply_to: a, deleted: false },
        { id: c, in_reply_to: b, deleted: false }
      ],
      'at most `max` steps: the nearest'
    )
    await transactor.run(async (connection) => {
      await tweets.addTombstone(connection, a, top, top)
      await tweets.deleteTweet(connection, a)
      await tweets.deleteTweet(connection, top)
    })
    t.same(
      await tweets.ancestors(c, 100),
      [
        { id: top, in_reply_to: null, deleted: true },
        { id: a, in_reply_to: top, deleted: true },
        { id: b, in_reply_to: a, deleted: false },
        { id: c, in_reply_to: b, deleted: false }
      ],
      'a deleted reply through its tombstone; a deleted root, without one, ends the chain'
    )
  })

  t.test('conversationAfter reads one conversation above an id, oldest first, live and deleted', async (t) => {
    const top = await post(alice, 'another top')
    const other = await post(alice, 'other thread')
    const first = await post(bob, 'first', top)
    await post(bob, 'elsewhere', other)
    const second = await post(alice, 'second', first)
    const third = await post(bob, 'third', top)
    await transactor.run(async (connection) => {
      await tweets.addTombstone(connection, second, first, top)
      await tweets.deleteTweet(connection, second)
    })
    t.same(await tweets.conversationAfter(top, top, 100), [
      { id: first, in_reply_to: top, deleted: false },
      { id: second, in_reply_to: first, deleted: true },
      { id: third, in_reply_to: top, deleted: false }
    ])
    t.same(
      await tweets.conversationAfter(top, first, 100),
      [
        { id: second, in_reply_to: first, deleted: true },
        { id: third, in_reply_to: top, deleted: false }
      ],
      'only ids above the one given'
    )
    t.same(
      (await tweets.conversationAfter(top, top, 2)).map((link) => link.id),
      [first, second],
      'the oldest `limit` of both tables together'
    )
    t.same(await tweets.conversationAfter(999_999, 0, 100), [])
  })

  t.test('tweetsByAuthor pages an author’s tweets and replies newest first', async (t) => {
    const carol = await user('carol')
    const own = await post(carol, 'own')
    const reply = await post(carol, 'a reply', root)
    const rows = await tweets.tweetsByAuthor(carol, newestBelow(Number.MAX_SAFE_INTEGER), 10)
    t.same(
      rows.map((row) => [row.id, row.in_reply_to]),
      [
        [reply, root],
        [own, null]
      ]
    )
    t.same(
      (await tweets.tweetsByAuthor(carol, newestBelow(reply), 10)).map((row) => row.id),
      [own]
    )
    t.same(
      (await tweets.tweetsByAuthor(carol, newestBelow(Number.MAX_SAFE_INTEGER), 1)).map((row) => row.id),
      [reply]
    )
    t.same(await tweets.tweetsByAuthor(999_999, newestBelow(Number.MAX_SAFE_INTEGER), 10), [])
    t.same(
      (await tweets.tweetsByAuthor(carol, { after: own, before: Number.MAX_SAFE_INTEGER, oldestFirst: true }, 10)).map(
        (row) => row.id
      ),
      [reply],
      'oldest first above `after`'
    )
  })
})

t.test('thread reads stay bounded by their limits, however large the conversation', async (t) => {
  const pool = await testPool(t, { connectionLimit: 1 })
  const users = new UserDao(pool)
  const tweets = new TweetDao(pool)
  const author = await users.insertUser({
    name: 'a',
    username: 'a_user',
    email: 'a@example.com',
    profile: '',
    hashedPassword: 'x'
  })
  const root = (await tweets.postTweet(author, 'root'))!.id
  // 3,000 replies in a chain, written in one statement: what would make an unbounded walk show.
  const chain = Array.from({ length: 3000 }, (_, i) => [root + 1 + i, author, `r${i}`, root + i, root])
  await pool.query('INSERT INTO tweets (id, user_id, tweet, in_reply_to, conversation_id) VALUES ?', [chain])
  const last = root + 3000

  // A handful of reads per link (index entry, temporary table, sort), never one per tweet of the thread.
  const perLink = 12
  let links: unknown[] = []
  const after = await rowsRead(pool, async () => (links = await tweets.conversationAfter(root, root, 50)))
  t.equal(links.length, 50)
  t.ok(after <= perLink * 50, `${after} rows read for 50 of a 3,000-tweet conversation`)
  const above = await rowsRead(pool, async () => (links = await tweets.ancestors(last, 100)))
  t.equal(links.length, 100)
  t.ok(above <= perLink * 100, `${above} rows read for 100 ancestors of a 3,000-deep chain`)
})

t.test(
  'viewerFlags: what one viewer liked, retweeted, blocks and mutes among a page’s tweets, in one statement',
  async (t) => {
    const pool = await testPool(t, { connectionLimit: 1 })
    const users = new UserDao(pool)
    const tweets = new TweetDao(pool)
    const user = (name: string) =>
      users.insertUser({ name, username: name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
    const [alice, bob, carol] = [await user('alice'), await user('bob'), await user('carol')]
    const post = async (author: number, text: string) => (await tweets.postTweet(author, text))!.id
    const like = (userId: number, tweetId: number) =>
      pool.query('INSERT INTO likes (user_id, tweet_id) VALUES (?, ?)', [userId, tweetId])
    const ids = [await post(alice, 'a'), await post(alice, 'b'), await post(alice, 'c'), await post(bob, 'd')]
    await like(carol, ids[0])
    await like(carol, ids[3])
    await like(bob, ids[1])
    await tweets.addRetweet(pool, carol, ids[1])
    await tweets.addRetweet(pool, bob, ids[0])
    const flags = async (viewer: number, asked: number[], retweeted = asked) => {
      const { liked, retweeted: shared } = await tweets.viewerFlags(viewer, asked, retweeted)
      return { liked: [...liked].sort(), retweeted: [...shared].sort() }
    }
    t.same(await flags(carol, ids), { liked: [ids[0], ids[3]], retweeted: [ids[1]] })
    t.same(await flags(bob, ids), { liked: [ids[1]], retweeted: [ids[0]] })
    t.same(await flags(alice, ids), { liked: [], retweeted: [] })
    t.same(await flags(carol, [ids[1], ids[2]], [ids[2]]), { liked: [], retweeted: [] }, 'only what was asked')
    t.same(await flags(carol, [], [ids[1]]), { liked: [], retweeted: [ids[1]] })
    t.same(await flags(carol, [ids[0]], []), { liked: [ids[0]], retweeted: [] })

    // Carol blocks bob, alice blocks carol, carol mutes alice.
    await pool.query('INSERT INTO blocks (user_id, blocked_id) VALUES (?, ?), (?, ?)', [carol, bob, alice, carol])
    await pool.query('INSERT INTO mutes (user_id, muted_id) VALUES (?, ?)', [carol, alice])
    const hidden = async (viewer: number, authors: number[], withMutes = false) => {
      const { blocked, muted } = await tweets.viewerFlags(viewer, [], [], authors, withMutes)
      return { blocked: [...blocked].sort(), muted: [...muted].sort() }
    }
    t.same(await hidden(carol, [alice, bob]), { blocked: [alice, bob].sort(), muted: [] }, 'blocks both ways')
    t.same([...(await tweets.viewerFlags(carol, [], [], [alice, bob])).muted], [], 'mutes only when asked for')
    t.same(await hidden(carol, [alice, bob], true), { blocked: [alice, bob].sort(), muted: [alice] })
    t.same(await hidden(bob, [alice, carol], true), { blocked: [carol], muted: [] }, 'a mute is one way')
    t.same(await hidden(alice, [bob], true), { blocked: [], muted: [] }, 'only the authors asked about')
    await pool.query('DELETE FROM blocks')
    await pool.query('DELETE FROM mutes')

    // Carol likes every tweet of a 20-tweet page and 500 others; nobody retweeted the page's tweets.
    const page: number[] = []
    for (let i = 0; i < 20; i++) page.push(await post(bob, `page ${i}`))
    await pool.query('INSERT INTO tweets (user_id, tweet) VALUES ?', [
      Array.from({ length: 500 }, (_, i) => [bob, `other ${i}`])
    ])
    await pool.query('INSERT IGNORE INTO likes (user_id, tweet_id) SELECT ?, id FROM tweets WHERE user_id = ?', [
      carol,
      bob
    ])
    t.equal(await rowsRead(pool, () => tweets.viewerFlags(carol, page, [])), 20, 'one likes entry per tweet')
    t.equal((await flags(carol, page, [])).liked.length, 20)
    t.equal(await rowsRead(pool, () => tweets.viewerFlags(carol, [], [])), 0, 'no tweets, no statement')
  }
)

t.test('retweets: rows of tweets that repeat a tweet, and timeline entries that show it once', async (t) => {
  const pool = await testPool(t)
  const users = new UserDao(pool)
  const tweets = new TweetDao(pool)
  const timelines = new TimelineDao(pool)
  const outbox = new FanoutDao(pool)
  const follows = new FollowDao(pool)
  const transactor = new Transactor(pool)
  const user = (name: string) =>
    users.insertUser({ name, username: name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
  const [author, bob, carol, reader] = [
    await user('author'),
    await user('bob'),
    await user('carol'),
    await user('reader')
  ]
  const all = { after: 0, before: Number.MAX_SAFE_INTEGER, oldestFirst: false }
  /** What reader's timeline shows, newest first: [row id, what it shows]. */
  const shown = async (owner = reader) =>
    (await timelines.page(owner, all, 100)).map((row) => [row.id, row.retweet_of ?? row.id])
  const retweetsOf = async (id: number) => {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT id, user_id, tweet, retweet_of FROM tweets WHERE retweet_of = ? ORDER BY id',
      [id]
    )
    return rows
  }
  const clear = async () => {
    await pool.query('DELETE FROM timeline_entries WHERE owner_id = ?', [reader])
    await pool.query('DELETE FROM fanout_outbox')
  }
  const original = (await tweets.postTweet(author, 'the original'))!.id

  t.test('addRetweet is idempotent: one row per user and tweet, with empty text', async (t) => {
    const id = await tweets.addRetweet(pool, bob, original)
    t.ok(id! > original)
    t.equal(await tweets.addRetweet(pool, bob, original), undefined, 'a second retweet adds nothing')
    t.same(await retweetsOf(original), [{ id, user_id: bob, tweet: '', retweet_of: original }])
    t.equal(await tweets.removeRetweet(pool, bob, original), true)
    t.equal(await tweets.removeRetweet(pool, bob, original), false, 'a second undo removes nothing')
    t.same(await retweetsOf(original), [])
    const again = await tweets.addRetweet(pool, bob, original)
    t.ok(again! > id!, 'retweeting again is a new row, placed by its own time')
    await tweets.removeRetweet(pool, bob, original)
  })

  t.test('a retweet’s row is no tweet: not read, edited, deleted or retweeted by its id', async (t) => {
    const id = (await tweets.addRetweet(pool, carol, original))!
    t.equal(await tweets.tweetById(id), undefined)
    t.equal(await tweets.authorForUpdate(pool, id), undefined)
    t.equal(await tweets.lockRetweetable(pool, id), false)
    t.equal(await tweets.lockRetweetable(pool, original), true)
    t.equal(await tweets.lockRetweetable(pool, 999_999), false)
    t.match(await tweets.tweetById(original), { id: original, retweet_of: null, retweet_count: 0 })
    t.match(
      (await tweets.tweetsByIds([id])).get(id),
      { retweet_of: original, user_id: carol },
      'timeline reads see what it repeats'
    )
    await tweets.removeRetweet(pool, carol, original)
  })

  t.test('a reply to a retweet’s row is refused; an author’s tweets leave retweets out', async (t) => {
    const retweet = (await tweets.addRetweet(pool, carol, original))!
    const own = (await tweets.postTweet(carol, 'carol’s own'))!.id
    const count = (await users.profileById(carol))!.tweets_count
    await t.rejects(tweets.postTweet(bob, 'to a retweet', retweet), new ReplyParentMissing(retweet))
    t.equal((await users.profileById(bob))!.tweets_count, 0, 'nothing was written')
    const all = { after: 0, before: Number.MAX_SAFE_INTEGER, oldestFirst: false }
    t.same(
      (await tweets.tweetsByAuthor(carol, all, 10)).map((row) => row.id),
      [own]
    )
    t.equal(count, 1, 'the retweet is not counted as carol’s tweet')
    t.ok((await tweets.postTweet(author, 'to the original', original))!.id > own, 'the original takes replies')
    await tweets.removeRetweet(pool, carol, original)
    await pool.query('DELETE FROM fanout_outbox')
  })

  t.test('addRetweetCount moves the counter; viewerFlags names one user’s retweets among ids', async (t) => {
    const other = (await tweets.postTweet(author, 'another'))!.id
    await tweets.addRetweet(pool, bob, other)
    await tweets.addRetweetCount(pool, other, 1)
    t.match(await tweets.tweetById(other), { retweet_count: 1 })
    const retweeted = async (viewer: number, ids: number[]) => (await tweets.viewerFlags(viewer, [], ids)).retweeted
    t.same(await retweeted(bob, [original, other, 999_999]), new Set([other]))
    t.same(await retweeted(carol, [original, other]), new Set())
    t.same(await retweeted(bob, []), new Set())
    t.same(
      await tweets.viewerFlags(bob, [original, other], [original]),
      { liked: new Set(), retweeted: new Set(), blocked: new Set(), muted: new Set() },
      'only the ids asked about retweets are looked up'
    )
    await tweets.removeRetweet(pool, bob, other)
    await tweets.addRetweetCount(pool, other, -1)
    t.match(await tweets.tweetById(other), { retweet_count: 0 })
  })

  t.test('an entry shows its tweet or the retweeted one; a second entry showing the same is skipped', async (t) => {
    const byBob = (await tweets.addRetweet(pool, bob, original))!
    const byCarol = (await tweets.addRetweet(pool, carol, original))!
    t.equal(await timelines.addToTimelines(pool, byBob, bob, [reader], original), 1)
    t.equal(await timelines.addToTimelines(pool, byCarol, carol, [reader], original), 0, 'another retweet of it')
    t.equal(await timelines.addToTimelines(pool, original, author, [reader]), 0, 'the tweet itself')
    t.same(await shown(), [[byBob, original]], 'placed by the retweet, showing the original')
    t.match(await timelines.page(reader, all, 1), [{ id: byBob, user_id: bob, retweet_of: original }])
    await clear()
    t.equal(await timelines.addToTimelines(pool, original, author, [reader]), 1)
    t.equal(await timelines.addToTimelines(pool, byBob, bob, [reader], original), 0, 'the reader has the original')
    t.same(await shown(), [[original, original]])
    await clear()
    await tweets.removeRetweet(pool, bob, original)
    await tweets.removeRetweet(pool, carol, original)
  })

  t.test('fan-out copies carry the retweeted tweet; restore rows are never copied as tweets', async (t) => {
    await follows.follow(pool, reader, bob)
    const retweet = (await tweets.addRetweet(pool, bob, original))!
    await outbox.enqueue(pool, 'copy', retweet, bob, original)
    await outbox.enqueue(pool, 'restore', original, bob)
    const rows = await transactor.run(async (c) => {
      const claimed = await outbox.claimable(c, 10)
      await outbox.lease(
        c,
        claimed.map((row) => row.id),
        'w',
        60_000
      )
      return claimed
    })
    t.match(rows, [
      { kind: 'copy', tweet_id: retweet, author_id: bob, original_id: original },
      { kind: 'restore', tweet_id: original, author_id: bob, original_id: null }
    ])
    t.equal(
      await outbox.copyToAllFollowers(
        pool,
        rows.map((row) => row.id),
        'w'
      ),
      1
    )
    t.same(await shown(), [[retweet, original]])
    await clear()
    await tweets.removeRetweet(pool, bob, original)
    await follows.unfollow(pool, reader, bob)
  })

  t.test('backfill copies an account’s retweets as what they show, skipping what is shown already', async (t) => {
    const own = (await tweets.postTweet(bob, 'bob’s own'))!.id
    const retweet = (await tweets.addRetweet(pool, bob, original))!
    await transactor.run((c) => timelines.backfill(c, reader, bob, 10))
    t.same(await shown(), [
      [retweet, original],
      [own, own]
    ])
    await clear()
    await timelines.addToTimelines(pool, original, author, [reader])
    await transactor.run((c) => timelines.backfill(c, reader, bob, 10))
    t.same(
      await shown(),
      [
        [own, own],
        [original, original]
      ],
      'the reader had the original'
    )
    t.same((await timelines.shownBy(pool, reader, bob)).sort(), [own], 'what bob’s entries show')
    await clear()
    await tweets.removeRetweet(pool, bob, original)
  })

  // restoreForOwners (many owners, one tweet) and restoreForOwner (one owner, many tweets), the latter
  // reading a followee's retweet from either side: the counters choose the smaller.
  const restorers: [string, (owner: number) => Promise<number>, { retweets: number; following: number }][] = [
    ['restoreForOwners', (owner) => timelines.restoreForOwners(pool, [owner], original), { retweets: 2, following: 2 }],
    [
      'restoreForOwner, from the retweets',
      (owner) => timelines.restoreForOwner(pool, owner, [original, 999_999]),
      { retweets: 2, following: 50 }
    ],
    [
      'restoreForOwner, from the follows',
      (owner) => timelines.restoreForOwner(pool, owner, [original, 999_999]),
      { retweets: 50, following: 2 }
    ]
  ]
  for (const [name, restore, counts] of restorers) {
    t.test(`${name} gives back the tweet itself, else the owner’s retweet, else a followee’s`, async (t) => {
      const byCarol = (await tweets.addRetweet(pool, carol, original))!
      const byReader = (await tweets.addRetweet(pool, reader, original))!
      await pool.query('UPDATE tweets SET retweet_count = ? WHERE id = ?', [counts.retweets, original])
      await pool.query('UPDATE users SET following_count = ? WHERE id = ?', [counts.following, reader])
      t.equal(await restore(reader), 1)
      t.same(await shown(), [[byReader, original]], 'the reader’s own retweet (carol is not followed)')
      t.equal(await restore(reader), 0, 'nothing twice')
      await clear()
      await tweets.removeRetweet(pool, reader, original)
      await follows.follow(pool, reader, carol)
      t.equal(await restore(reader), 1)
      t.same(await shown(), [[byCarol, original]], 'a followee’s retweet')
      await clear()
      await follows.follow(pool, reader, author)
      t.equal(await restore(reader), 1, 'one entry, counted once')
      t.same(await shown(), [[original, original]], 'the tweet itself, when its author is followed')
      await clear()
      await transactor.run(async (c) => {
        await users.setFanout(c, author, 'pull')
        await users.setFanout(c, carol, 'pull')
      })
      t.equal(await restore(reader), 0, 'pulled accounts are read, not copied')
      await transactor.run(async (c) => {
        await users.setFanout(c, author, 'push')
        await users.setFanout(c, carol, 'push')
      })
      await follows.unfollow(pool, reader, carol)
      await follows.unfollow(pool, reader, author)
      await tweets.removeRetweet(pool, carol, original)
      await pool.query('UPDATE tweets SET retweet_count = 0 WHERE id = ?', [original])
      await pool.query('UPDATE users SET following_count = 0 WHERE id = ?', [reader])
    })
  }

  t.test('restoring for no owner or no tweet writes nothing', async (t) => {
    t.equal(await timelines.restoreForOwners(pool, [], original), 0)
    t.equal(await timelines.restoreForOwner(pool, reader, []), 0)
  })

  t.test('deleting a tweet deletes its retweets, their entries and their pending fan-out', async (t) => {
    const doomed = (await tweets.postTweet(author, 'doomed'))!.id
    const retweet = (await tweets.addRetweet(pool, bob, doomed))!
    await timelines.addToTimelines(pool, retweet, bob, [reader, bob], doomed)
    await outbox.enqueue(pool, 'copy', retweet, bob, doomed)
    await outbox.enqueue(pool, 'restore', doomed, bob)
    await tweets.deleteTweet(pool, doomed)
    t.same(await retweetsOf(doomed), [])
    t.same(await shown(), [])
    t.notOk(
      (await shown(bob)).some(([, tweet]) => tweet === doomed),
      'nor in the retweeter’s own timeline'
    )
    const [pending] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM fanout_outbox')
    t.equal(Number(pending[0].n), 0)
  })
})

t.test('viewersFlags: for many viewers of one tweet, who liked, retweeted, or has it hidden', async (t) => {
  const pool = await testPool(t)
  const users = new UserDao(pool)
  const tweets = new TweetDao(pool)
  const user = (name: string) =>
    users.insertUser({ name, username: name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
  const [author, retweeter, liker, sharer, blocker, blocked, muter, plain] = await Promise.all(
    ['author', 'retweeter', 'liker', 'sharer', 'blocker', 'blocked', 'muter', 'plain'].map(user)
  )
  const tweet = (await tweets.postTweet(author, 'seen by many'))!.id
  await pool.query('INSERT INTO likes (user_id, tweet_id) VALUES (?, ?)', [liker, tweet])
  await tweets.addRetweet(pool, sharer, tweet)
  // A block either way with the author or the retweeter hides it; so does a mute of either, one way.
  await pool.query('INSERT INTO blocks (user_id, blocked_id) VALUES (?, ?), (?, ?)', [
    blocker,
    author,
    retweeter,
    blocked
  ])
  await pool.query('INSERT INTO mutes (user_id, muted_id) VALUES (?, ?), (?, ?)', [muter, retweeter, author, plain])
  const viewers = [liker, sharer, blocker, blocked, muter, plain]
  const flags = await tweets.viewersFlags(viewers, tweet, [author, retweeter])
  t.same([...flags.liked], [liker])
  t.same([...flags.retweeted], [sharer])
  t.same([...flags.hidden].sort(), [blocker, blocked, muter].sort(), 'the author muting a viewer hides nothing')
  const alone = await tweets.viewersFlags([plain], tweet, [author])
  t.same([...alone.hidden], [], 'only the authors asked about')
})
