// Deleting an account (UserService.deleteAccount) and erasing it (AccountEraser): gone for everyone at once,
// restorable by logging in within the grace period, then erased in small batches with every other user's
// counters right (the consistency checks) and nothing left that names it.
import { Readable } from 'node:stream'
import t from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import { buildServices } from '../../app.ts'
import { AccountDao } from '../../model/account-dao.ts'
import { createPool } from '../../model/database.ts'
import { PendingObjectDao } from '../../model/pending-object-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { Transactor } from '../../model/database.ts'
import { AccountEraser } from '../../service/account-eraser.ts'
import { Forbidden, NotFound, Unauthorized } from '../../service/errors.ts'
import { PurgeSchedule } from '../../service/purge-schedule.ts'
import { ConsistencyDao, noViolations } from '../consistency.ts'
import { testConfig } from '../helper.ts'
import { pngBytes } from '../../scripts/support/uploads.ts'

const password = 'password123'
const silent = { info() {}, error() {}, warn() {} }

// Every table with a column naming a user, and that column (or columns).
const userColumns: [string, string[]][] = [
  ['users_follow_list', ['user_id', 'follow_user_id']],
  ['pulled_follows', ['user_id', 'follow_user_id']],
  ['tweets', ['user_id']],
  ['timeline_entries', ['owner_id', 'author_id']],
  ['timeline_gaps', ['owner_id', 'author_id']],
  ['likes', ['user_id']],
  ['blocks', ['user_id', 'blocked_id']],
  ['mutes', ['user_id', 'muted_id']],
  ['notifications', ['user_id', 'actor_id']],
  ['media', ['user_id']],
  ['personal_tokens', ['user_id']],
  ['revoked_tokens', ['user_id']]
]

t.test('deleting and erasing an account', async (t) => {
  // A grace period, so that the test decides when the account falls due (and no background erasure races it).
  const config = await testConfig(t, { ACCOUNT_GRACE_DAYS: '1' })
  const services = await buildServices(config)
  t.teardown(() => services.close())
  const pool = createPool(config.databaseUrl)
  t.teardown(() => pool.end())
  const { userService, tweetService, followService, likeService, searchService } = services
  const transactor = new Transactor(pool)
  const userDao = new UserDao(pool)
  // Batches of 2: every step of a small account takes several rounds.
  const eraser = new AccountEraser(
    transactor,
    userDao,
    new AccountDao(pool),
    new PendingObjectDao(pool),
    followService,
    likeService,
    tweetService,
    silent,
    2
  )
  const signUp = async (name: string) =>
    (await userService.signUp({ name, email: `${name}@example.com`, password, profile: '' })).id
  const [gone, ana, ben, cho] = [await signUp('gone'), await signUp('ana'), await signUp('ben'), await signUp('cho')]
  const makeDue = (id: number) =>
    pool.query('UPDATE users SET erase_after = NOW(3) - INTERVAL 1 SECOND WHERE id = ?', [id])

  // gone follows ana and ben; ana, ben and cho follow gone.
  for (const [from, to] of [
    [gone, ana],
    [gone, ben],
    [ana, gone],
    [ben, gone],
    [cho, gone]
  ]) {
    await followService.follow(from, to)
  }
  const anaTweet = (await tweetService.tweet(ana, 'ana says hello')).id
  const benTweet = (await tweetService.tweet(ben, 'ben says hello')).id
  const goneTweets: number[] = []
  for (let i = 0; i < 5; i++) goneTweets.push((await tweetService.tweet(gone, `zebra gone ${i}`)).id)
  const goneReply = (await tweetService.tweet(gone, 'gone answers ana', [], anaTweet)).id
  const anaReply = (await tweetService.tweet(ana, 'ana answers gone', [], goneTweets[0])).id
  await likeService.like(gone, anaTweet)
  await likeService.like(gone, benTweet)
  await likeService.like(ana, goneTweets[1])
  await tweetService.retweet(gone, anaTweet)
  await tweetService.retweet(ben, goneTweets[2])
  await followService.mute(gone, cho)
  await services.fanoutService.drain()

  t.test('a wrong password deletes nothing', async (t) => {
    await t.rejects(userService.deleteAccount(gone, 'wrong password'), Forbidden)
    t.equal((await userService.profile(gone, false)).id, gone)
  })

  t.test('from the deletion on, the account is gone for everyone', async (t) => {
    const { access_token } = await userService.login('gone@example.com', password)
    t.ok(access_token)
    await userService.deleteAccount(gone, password)
    t.equal(await userService.tokenStatus(gone, 1, undefined), 'gone', 'its tokens answer as for an account gone')
    await t.rejects(userService.profile(gone, false), NotFound)
    await t.rejects(userService.profileByUsername('gone'), NotFound)
    await t.rejects(tweetService.tweetById(goneTweets[0]), NotFound)
    await t.rejects(tweetService.tweetsBy(gone, { limit: 10 }), NotFound)
    await t.rejects(followService.followers(gone, { limit: 10 }), NotFound)
    await t.rejects(followService.follow(cho, gone), NotFound)
    await t.rejects(userService.deleteAccount(gone, password), Unauthorized, 'deleting twice')
    t.same((await tweetService.tweet(ana, 'hello @gone')).mentions, [], 'nobody can mention it')
    await services.fanoutService.drain()
    const timeline = await tweetService.timelineFor(ana, { limit: 50 }, ana)
    t.notOk(
      timeline.items.some((item) => item.user_id === gone || item.retweeted_by?.id === gone),
      'neither its tweets nor its retweets are on a follower’s timeline'
    )
    t.ok(
      timeline.items.some((item) => item.id === anaReply),
      'a reply to its tweet stays'
    )
    t.same(
      (await followService.following(ana, { limit: 10 })).items.map((user) => user.id),
      [],
      'not on the lists of people'
    )
    t.same(
      (await likeService.likers(anaTweet, { limit: 10 })).items.map((user) => user.id),
      [],
      'not among the likers'
    )
    t.same((await searchService.tweets('zebra', { limit: 10 }, ana)).items, [], 'its tweets are not found')
    t.same((await searchService.users('gone', { limit: 10 })).items, [], 'nor is it')
    const thread = await tweetService.context(anaTweet)
    t.same(
      thread.descendants.map((item) => ('deleted' in item ? 'placeholder' : item.id)),
      ['placeholder'],
      'its reply is a placeholder until it is erased'
    )
    const answered = await tweetService.context(anaReply)
    t.same(
      answered.ancestors.map((item) => ('deleted' in item ? 'placeholder' : item.id)),
      ['placeholder'],
      'the tweet a reply answers is a placeholder'
    )
  })

  t.test('within the grace period, logging in restores it; a wrong password does not', async (t) => {
    await t.rejects(userService.login('gone@example.com', 'wrong password'), Unauthorized)
    await t.rejects(userService.profile(gone, false), NotFound)
    const login = await userService.login('gone@example.com', password)
    t.equal(login.user_id, gone)
    t.equal((await userService.profile(gone, false)).followers_count, 3, 'with its followers')
    t.equal((await tweetService.tweetById(goneTweets[0])).id, goneTweets[0])
    await userService.deleteAccount(gone, password)
  })

  t.test('nothing is erased before the account is due', async (t) => {
    t.equal(await eraser.eraseDue(), 0)
    const [rows] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM tweets WHERE user_id = ?', [gone])
    t.equal(Number(rows[0].n), 7, 'five tweets, a reply and a retweet')
  })

  t.test('once due, it cannot be restored, and is erased with every counter right', async (t) => {
    await makeDue(gone)
    await t.rejects(userService.login('gone@example.com', password), Unauthorized)
    t.equal(await eraser.eraseDue(), 1)
    const [users] = await pool.query<RowDataPacket[]>('SELECT id FROM users WHERE id = ?', [gone])
    t.same(users, [], 'the users row went last')
    for (const [table, columns] of userColumns) {
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT COUNT(*) AS n FROM ${table} WHERE ${columns.map((column) => `${column} = ?`).join(' OR ')}`,
        columns.map(() => gone)
      )
      t.equal(Number(rows[0].n), 0, `nothing in ${table} names it`)
    }
    t.same(await new ConsistencyDao(pool).violations(), noViolations)
    const profiles = await Promise.all([ana, ben, cho].map((id) => userService.profile(id, false)))
    t.same(
      profiles.map((p) => [p.followers_count, p.following_count]),
      [
        [0, 0],
        [0, 0],
        [0, 0]
      ]
    )
    t.match(await tweetService.tweetById(anaTweet), { like_count: 0, retweet_count: 0, reply_count: 0 })
    t.match(await tweetService.tweetById(benTweet), { like_count: 0 })
    const answered = await tweetService.context(anaReply)
    t.same(answered.ancestors, [{ id: goneTweets[0], in_reply_to: null, deleted: true }], 'its root is a placeholder')
    t.same((await tweetService.context(anaTweet)).descendants, [], 'its reply, with nothing below it, left the thread')
    const [stones] = await pool.query<RowDataPacket[]>('SELECT id FROM tweet_tombstones WHERE id = ?', [goneReply])
    t.equal(stones.length, 1, 'its reply left a tombstone where it hung')
    t.equal(await eraser.eraseDue(), 0, 'a second run finds nothing')
  })

  t.test('once erased, its email and username are free for a new account', async (t) => {
    const again = await userService.signUp({ name: 'again', email: 'gone@example.com', password, profile: '' })
    t.not(again.id, gone)
    const renamed = await userService.updateProfile(again.id, { username: 'gone' })
    t.equal(renamed.username, 'gone')
  })
})

t.test('an account deleted without a grace period is erased at once, in the background', async (t) => {
  const config = await testConfig(t)
  const services = await buildServices(config)
  t.teardown(() => services.close())
  const { userService, followService, accountEraser } = services
  const signUp = async (name: string) =>
    (await userService.signUp({ name, email: `${name}@example.com`, password, profile: '' })).id
  const [gone, fan] = [await signUp('gone'), await signUp('fan')]
  await followService.follow(fan, gone)
  await userService.deleteAccount(gone, password)
  await accountEraser.settled()
  await t.rejects(userService.login('gone@example.com', password), Unauthorized)
  t.equal((await userService.profile(fan, false)).following_count, 0)
  t.equal((await userService.signUp({ name: 'new', email: 'gone@example.com', password, profile: '' })).name, 'new')
})

t.test('a purge run erases the accounts that are due', async (t) => {
  const config = await testConfig(t, { ACCOUNT_GRACE_DAYS: '30' })
  const services = await buildServices(config)
  t.teardown(() => services.close())
  const pool = createPool(config.databaseUrl)
  t.teardown(() => pool.end())
  const { userService, accountEraser, mediaService } = services
  const ids = []
  for (const name of ['first', 'second', 'kept']) {
    const id = (await userService.signUp({ name, email: `${name}@example.com`, password, profile: '' })).id
    await userService.deleteAccount(id, password)
    ids.push(id)
  }
  await pool.query('UPDATE users SET erase_after = NOW(3) - INTERVAL 1 SECOND WHERE id IN (?)', [ids.slice(0, 2)])
  const schedule = new PurgeSchedule(mediaService, accountEraser, 0, silent)
  t.match(await schedule.runOnce(), { accounts: 2 })
  const [rows] = await pool.query<RowDataPacket[]>('SELECT id FROM users ORDER BY id')
  t.same(
    rows.map((row) => row.id),
    [ids[2]],
    'the account still within its grace period stays'
  )
})

t.test('background erasure: a wake during a run looks again; a failure is logged and left for later', async (t) => {
  const config = await testConfig(t)
  const services = await buildServices(config)
  t.teardown(() => services.close())
  const { userService, accountEraser } = services
  const ids: number[] = []
  for (const name of ['one', 'two', 'three']) {
    ids.push((await userService.signUp({ name, email: `${name}@example.com`, password, profile: '' })).id)
  }
  // The first deletion starts a run; the second arrives while it is running and must not be missed.
  await userService.deleteAccount(ids[0], password)
  await userService.deleteAccount(ids[1], password)
  await accountEraser.settled()
  t.equal(await accountEraser.eraseDue(), 0, 'both were erased by the background runs')
  await userService.deleteAccount(ids[2], password)
  await accountEraser.settled()
  t.equal(await accountEraser.eraseDue(), 0, 'a deletion after a run has ended starts a new one')

  const pool = createPool(config.databaseUrl)
  const errors: string[] = []
  const causes: object[] = []
  const log = {
    ...silent,
    error: (details: object, message: string) => {
      errors.push(message)
      causes.push(details)
    }
  }
  const broken = new AccountEraser(
    new Transactor(pool),
    new UserDao(pool),
    new AccountDao(pool),
    new PendingObjectDao(pool),
    services.followService,
    services.likeService,
    services.tweetService,
    log
  )
  await pool.end()
  broken.wake()
  await broken.settled()
  t.same(errors, ['account erasure failed'])
  t.match(causes, [{ err: Error }], 'with the error')
  await broken.stop()
  broken.wake()
  await broken.settled()
  t.same(errors, ['account erasure failed'], 'a stopped eraser starts nothing')
})

t.test(
  'an erased account is logged once, with how many rows each step removed; its picture goes to purge',
  async (t) => {
    const config = await testConfig(t, { ACCOUNT_GRACE_DAYS: '1' })
    const services = await buildServices(config)
    t.teardown(() => services.close())
    const pool = createPool(config.databaseUrl)
    t.teardown(() => pool.end())
    const { userService, tweetService, followService, likeService } = services
    const infos: [object, string][] = []
    const log = { ...silent, info: (details: object, message: string) => void infos.push([details, message]) }
    const eraser = new AccountEraser(
      new Transactor(pool),
      new UserDao(pool),
      new AccountDao(pool),
      new PendingObjectDao(pool),
      followService,
      likeService,
      tweetService,
      log,
      2
    )
    const signUp = async (name: string) =>
      (await userService.signUp({ name, email: `${name}@example.com`, password, profile: '' })).id
    const [gone, ana, ben, cho] = [await signUp('gone'), await signUp('ana'), await signUp('ben'), await signUp('cho')]
    for (const id of [ana, ben, cho]) await followService.follow(gone, id)
    const anaTweet = (await tweetService.tweet(ana, 'by ana')).id
    await likeService.like(gone, anaTweet)
    await tweetService.retweet(gone, anaTweet)
    for (let i = 0; i < 3; i++) await tweetService.tweet(gone, `by gone ${i}`)
    await userService.saveProfilePicture(gone, Readable.from([pngBytes]))
    const [[{ picture }]] = await pool.query<RowDataPacket[]>(
      'SELECT profile_picture AS picture FROM users WHERE id = ?',
      [gone]
    )
    await userService.deleteAccount(gone, password)
    await pool.query('UPDATE users SET erase_after = NOW(3) - INTERVAL 1 SECOND WHERE id = ?', [gone])
    t.equal(await eraser.eraseDue(), 1)
    t.equal(infos.length, 1)
    t.match(infos[0], [
      { user_id: gone, removed: { follows: 3, likes: 1, retweets: 1, tweets: 3, media: 0 } },
      'account erased'
    ])
    t.equal(await eraser.eraseDue(), 0)
    t.equal(infos.length, 1, 'nothing logged when nothing was erased')
    const [objects] = await pool.query<RowDataPacket[]>(
      'SELECT storage_key FROM pending_objects WHERE storage_key = ? AND purge_after <= NOW(3)',
      [picture]
    )
    t.equal(objects.length, 1, 'its profile picture is handed to purge, due at once')
  }
)
