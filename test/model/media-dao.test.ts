import t from 'tap'
import { MediaDao, type NewMedia } from '../../model/media-dao.ts'
import { TweetDao } from '../../model/tweet-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { testPool } from '../helper.ts'

t.test('MediaDao', async (t) => {
  const pool = await testPool(t)
  const users = new UserDao(pool)
  const tweets = new TweetDao(pool)
  const insertTweet = async (userId: number, text: string) => (await tweets.postTweet(userId, text))!.id
  const media = new MediaDao(pool)
  const user = (name: string) =>
    users.insertUser({ name, username: name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
  const [alice, bob] = [await user('alice'), await user('bob')]
  let keys = 0
  const pending = (userId: number, extra: Partial<NewMedia> = {}) =>
    media.insertPending(pool, {
      userId,
      storageKey: `media/k${++keys}.png`,
      contentType: 'image/png',
      originalName: 'a.png',
      reservedBytes: 0,
      expiresAt: null,
      ...extra
    })
  const ready = async (userId: number, size = 10) => {
    const id = await pending(userId)
    await media.markReady(id, size)
    return id
  }
  const inTransaction = async <T>(work: (connection: Awaited<ReturnType<typeof pool.getConnection>>) => Promise<T>) => {
    const connection = await pool.getConnection()
    try {
      await connection.beginTransaction()
      const result = await work(connection)
      await connection.commit()
      return result
    } catch (error) {
      await connection.rollback()
      throw error
    } finally {
      connection.release()
    }
  }

  t.test('a pending row becomes ready once, with its size', async (t) => {
    const id = await pending(alice, { originalName: '녹음 1.m4a', contentType: 'audio/x-m4a' })
    t.match(await media.mediaOf(alice, id), {
      id,
      user_id: alice,
      status: 'pending',
      size: 0,
      original_name: '녹음 1.m4a',
      content_type: 'audio/x-m4a',
      deleted_at: null
    })
    t.notOk(
      (await media.readyMedia(alice, 100)).some((row) => row.id === id),
      'pending rows are not listed'
    )
    t.equal(await media.markReady(id, 1234), true)
    t.equal(await media.markReady(id, 99), false, 'only a pending row can be marked ready')
    t.match(await media.mediaOf(alice, id), { status: 'ready', size: 1234 })
    t.ok((await media.mediaOf(alice, id))!.created_at instanceof Date)
  })

  t.test('a pending row holds its reservation until it is ready with its size', async (t) => {
    const id = await pending(alice, { reservedBytes: 5000 })
    t.match(await media.mediaOf(alice, id), { status: 'pending', size: 5000 })
    t.equal(await media.markReady(id, 42), true)
    t.match(await media.mediaOf(alice, id), { status: 'ready', size: 42 })
  })

  t.test(
    'lockStoredBytes sums every row of the user, pending and deleted included, with their row locked',
    async (t) => {
      const erin = await user('erin')
      t.equal(await inTransaction((c) => media.lockStoredBytes(c, erin)), 0)
      await ready(erin, 100)
      await pending(erin, { reservedBytes: 1000 })
      const deleted = await ready(erin, 10)
      await media.markDeleted(erin, deleted, new Date())
      await ready(bob, 7)
      t.equal(await inTransaction((c) => media.lockStoredBytes(c, erin)), 1110)
      t.equal(await inTransaction((c) => media.lockStoredBytes(c, 999999)), undefined, 'no such user')

      // While one transaction holds the user's row, another one's lockStoredBytes waits for it.
      const holder = await pool.getConnection()
      t.teardown(() => holder.release())
      await holder.beginTransaction()
      await media.lockStoredBytes(holder, erin)
      const order: string[] = []
      const waiting = inTransaction((c) => media.lockStoredBytes(c, erin)).then((used) => (order.push('waiter'), used))
      await media.insertPending(holder, {
        userId: erin,
        storageKey: 'media/held.png',
        contentType: 'image/png',
        originalName: null,
        reservedBytes: 5,
        expiresAt: null
      })
      order.push('holder')
      await holder.commit()
      t.equal(await waiting, 1115, 'the waiter sees the reservation committed before it')
      t.same(order, ['holder', 'waiter'])
    }
  )

  t.test("another user's row is invisible to mediaOf", async (t) => {
    const id = await ready(alice)
    t.equal(await media.mediaOf(bob, id), undefined)
    t.equal(await media.mediaOf(alice, 999999), undefined)
  })

  t.test('a storage key cannot be recorded twice', async (t) => {
    const twice = {
      storageKey: 'media/twice.png',
      contentType: 'image/png',
      originalName: null,
      reservedBytes: 0,
      expiresAt: null
    }
    await media.insertPending(pool, { userId: alice, ...twice })
    await t.rejects(media.insertPending(pool, { userId: bob, ...twice }), { code: 'ER_DUP_ENTRY' })
  })

  t.test('an unknown user is refused by the foreign key', async (t) => {
    await t.rejects(pending(999999), { code: 'ER_NO_REFERENCED_ROW_2' })
  })

  t.test('readyMedia lists own ready, undeleted rows newest first, by keyset', async (t) => {
    const carol = await user('carol')
    const ids = [await ready(carol), await ready(carol), await ready(carol), await ready(carol)]
    await ready(bob)
    await pending(carol)
    const hidden = await ready(carol)
    t.equal(await media.markDeleted(carol, hidden, new Date()), true)
    t.same(
      (await media.readyMedia(carol, 100)).map((row) => row.id),
      [...ids].reverse()
    )
    t.same(
      (await media.readyMedia(carol, 2)).map((row) => row.id),
      [ids[3], ids[2]]
    )
    t.same(
      (await media.readyMedia(carol, 2, ids[2])).map((row) => row.id),
      [ids[1], ids[0]]
    )
    t.same(await media.readyMedia(carol, 2, ids[0]), [])
  })

  t.test('markDeleted hides a ready row once; restore brings back only recent deletes', async (t) => {
    const id = await ready(alice)
    const at = new Date('2030-01-02T03:04:05.678Z')
    t.equal(await media.markDeleted(bob, id, at), false, "not someone else's")
    t.equal(await media.markDeleted(alice, id, at), true)
    t.equal(await media.markDeleted(alice, id, at), false, 'not twice')
    t.same((await media.mediaOf(alice, id))!.deleted_at, at)
    t.equal(await media.restore(alice, id, at), false, 'deleted at the cutoff is too old')
    t.equal(await media.restore(bob, id, new Date(0)), false, "not someone else's")
    t.equal(await media.restore(alice, id, new Date(at.getTime() - 1)), true)
    t.equal((await media.mediaOf(alice, id))!.deleted_at, null)
    t.equal(await media.restore(alice, id, new Date(0)), false, 'an undeleted row is not restored')
    t.equal(await media.markDeleted(alice, await pending(alice), at), false, 'a pending row cannot be deleted')
  })

  t.test('stalePending and expiredDeleted select by cutoff, paged by id', async (t) => {
    const dave = await user('dave')
    const p1 = await pending(dave)
    const p2 = await pending(dave)
    const gone = await ready(dave)
    const kept = await ready(dave)
    await media.markDeleted(dave, gone, new Date('2020-01-01T00:00:00Z'))
    await media.markDeleted(dave, kept, new Date('2020-01-03T00:00:00Z'))
    const future = new Date(Date.now() + 60_000)
    const stale = (await media.stalePending(future, 0, 1000)).filter((row) => row.id === p1 || row.id === p2)
    t.same(
      stale.map((row) => row.id),
      [p1, p2]
    )
    t.match(stale[0], { storage_key: /^media\/k\d+\.png$/ })
    t.notOk(
      (await media.stalePending(new Date(Date.now() - 60_000), 0, 1000)).some((row) => row.id === p1),
      'fresh rows are not stale'
    )
    t.same(
      (await media.stalePending(future, p1, 1000)).filter((row) => row.id === p1 || row.id === p2).map((row) => row.id),
      [p2]
    )
    t.same((await media.stalePending(future, 0, 1)).length, 1)
    t.same(
      (await media.expiredDeleted(new Date('2020-01-02T00:00:00Z'), 0, 10)).map((row) => row.id),
      [gone]
    )
    t.same(
      (await media.expiredDeleted(new Date('2020-01-03T00:00:00Z'), gone, 10)).map((row) => row.id),
      [kept]
    )
  })

  t.test('lockExpired claims ready, undeleted rows past their expiry, skipping rows others hold', async (t) => {
    const frank = await user('frank')
    const expiry = new Date('2030-01-01T00:00:00Z')
    const readyExpiring = async () => {
      const id = await pending(frank, { expiresAt: expiry })
      await media.markReady(id, 1)
      return id
    }
    const [old, kept, deleted, held] = [
      await readyExpiring(),
      await readyExpiring(),
      await readyExpiring(),
      await readyExpiring()
    ]
    await pending(frank, { expiresAt: expiry })
    await ready(frank)
    await media.markDeleted(frank, deleted, new Date())
    await inTransaction((c) => media.clearExpiry(c, [kept]))

    const holder = await pool.getConnection()
    t.teardown(() => holder.release())
    await holder.beginTransaction()
    await media.attachableMedia(holder, frank, [held])
    t.same(
      await inTransaction((c) => media.lockExpired(c, expiry, 100)),
      [old],
      'the held row is skipped, not waited for'
    )
    await holder.rollback()
    t.same(
      await inTransaction((c) => media.lockExpired(c, new Date(expiry.getTime() - 1), 100)),
      [],
      'not before the expiry'
    )
    t.same(await inTransaction((c) => media.lockExpired(c, expiry, 100)), [old, held])
    t.same(await inTransaction((c) => media.lockExpired(c, expiry, 1)), [old])

    const at = new Date('2030-01-02T00:00:00Z')
    await inTransaction((c) => media.markDeletedIn(c, [old, held], at))
    t.same((await media.mediaOf(frank, old))!.deleted_at, at)
    t.same((await media.mediaOf(frank, held))!.deleted_at, at)
    t.equal((await media.mediaOf(frank, kept))!.deleted_at, null)
    t.same(await inTransaction((c) => media.lockExpired(c, expiry, 100)), [])
  })

  t.test('with no ids, the writes and the lookup of a transaction do nothing, without a statement', async (t) => {
    const tweet = await insertTweet(alice, 'nothing attached')
    const answers = await inTransaction(async (c) => [
      await media.clearExpiry(c, []),
      await media.markDeletedIn(c, [], new Date()),
      await media.attachableMedia(c, alice, []),
      await media.insertTweetMedia(c, tweet, [])
    ])
    t.same(answers, [undefined, undefined, [], undefined])
    t.same(await media.mediaForTweets([tweet]), [])
  })

  t.test('tweets: attach in a transaction, read back grouped by tweet in position order', async (t) => {
    const [m1, m2, m3] = [await ready(alice, 1), await ready(alice, 2), await ready(alice, 3)]
    const first = await insertTweet(alice, 'with media')
    const second = await insertTweet(alice, 'one more')
    const bare = await insertTweet(alice, 'no media')
    t.same(await inTransaction((c) => media.attachableMedia(c, alice, [m1, m2])), [
      { id: m1, tweet_id: null },
      { id: m2, tweet_id: null }
    ])
    await inTransaction((c) => media.insertTweetMedia(c, first, [m2, m1]))
    await inTransaction((c) => media.insertTweetMedia(c, second, [m3]))
    t.same(
      (await inTransaction((c) => media.attachableMedia(c, alice, [m1, m3]))).map((row) => [row.id, row.tweet_id]),
      [
        [m1, first],
        [m3, second]
      ]
    )
    t.same(
      await inTransaction((c) => media.attachableMedia(c, bob, [m1])),
      [],
      "someone else's media is not attachable"
    )
    const rows = await media.mediaForTweets([bare, second, first])
    t.same(
      rows.map((row) => [row.tweet_id, row.position, row.id, row.size]),
      [
        [first, 0, m2, 2],
        [first, 1, m1, 1],
        [second, 0, m3, 3]
      ]
    )
    t.match(rows[0], { content_type: 'image/png', storage_key: /^media\// })
    t.same(await media.mediaForTweets([]), [])
    await t.rejects(
      inTransaction((c) => media.insertTweetMedia(c, bare, [m1])),
      { code: 'ER_DUP_ENTRY' },
      'a media item is on one tweet only'
    )

    await media.markDeleted(alice, m2, new Date())
    t.same(
      (await media.mediaForTweets([first])).map((row) => row.id),
      [m1],
      'hidden media leave the tweet at once'
    )
    await media.restore(alice, m2, new Date(0))
    t.equal(await media.deleteMedia(m1), true)
    t.equal(await media.deleteMedia(m1), false)
    t.same(
      (await media.mediaForTweets([first])).map((row) => row.id),
      [m2],
      'deleting a media item removes it from its tweet'
    )
    t.match(await tweets.tweetById(first), { tweet: 'with media' }, 'the tweet stays')
  })
})
