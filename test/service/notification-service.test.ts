// NotificationService: the page it builds (accounts, tweets as the recipient sees them, cursors from the
// rows read), what it leaves out, and the read mark.
import t from 'tap'
import { BlockDao } from '../../model/block-dao.ts'
import { Transactor } from '../../model/database.ts'
import { FanoutDao } from '../../model/fanout-dao.ts'
import { FollowDao } from '../../model/follow-dao.ts'
import { NotificationDao } from '../../model/notification-dao.ts'
import { TimelineDao } from '../../model/timeline-dao.ts'
import { TweetDao } from '../../model/tweet-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { FollowService } from '../../service/follow-service.ts'
import { NotificationService } from '../../service/notification-service.ts'
import { LocalStorage } from '../../service/storage/local.ts'
import { TweetService } from '../../service/tweet-service.ts'
import { testPool, testPublicUrl, testUploadDir } from '../helper.ts'

t.test('NotificationService', async (t) => {
  const pool = await testPool(t)
  const storage = new LocalStorage(await testUploadDir(t), testPublicUrl)
  const users = new UserDao(pool)
  const transactor = new Transactor(pool)
  const notificationDao = new NotificationDao(pool)
  const timelineDao = new TimelineDao(pool)
  const followDao = new FollowDao(pool)
  const tweets = new TweetService(
    transactor,
    new TweetDao(pool),
    timelineDao,
    users,
    followDao,
    storage,
    undefined,
    { wake() {} },
    new FanoutDao(pool),
    notificationDao
  )
  const follows = new FollowService(
    transactor,
    followDao,
    new BlockDao(pool),
    notificationDao,
    timelineDao,
    users,
    storage,
    {
      fanoutMaxFollowers: 1000,
      timelineBackfill: 10
    }
  )
  const notifications = new NotificationService(transactor, notificationDao, users, tweets, storage)
  const user = (name: string) =>
    users.insertUser({ name, username: name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
  const [alice, bob, carol] = [await user('alice'), await user('bob'), await user('carol')]
  const tweet = (await tweets.tweet(alice, 'alice speaks')).id

  t.test('a page names the account and the tweet as the recipient sees it, newest first', async (t) => {
    await follows.follow(bob, alice)
    const reply = (await tweets.tweet(carol, 'carol answers', [], tweet)).id
    await tweets.retweet(bob, tweet)
    const page = await notifications.list(alice, { limit: 10 })
    t.same(
      page.items.map((item) => [item.type, item.account.id, item.tweet?.id ?? null]),
      [
        ['retweet', bob, tweet],
        ['reply', carol, reply],
        ['follow', bob, null]
      ]
    )
    t.same(page.items[1].account, { id: carol, name: 'carol', username: 'carol', profile_picture: null })
    t.match(page.items[0].tweet, { id: tweet, retweet_count: 1, retweeted: false, reply_count: 1 })
    t.equal(page.unread_count, 3)
    t.equal(page.next_cursor, null)
    t.equal(page.prev_cursor, null)
  })

  t.test('one hidden from the recipient since it was written is left out; the cursors still move on', async (t) => {
    // A block written around the service (as by a race with the action): the notification is still there.
    const reply = (await tweets.tweet(carol, 'carol again', [], tweet)).id
    await pool.query('INSERT INTO blocks (user_id, blocked_id) VALUES (?, ?)', [alice, carol])
    const page = await notifications.list(alice, { limit: 1 })
    t.same(page.items, [], 'the newest, carol’s reply, is hidden')
    const [[row]] = await pool.query<never[]>('SELECT MAX(id) AS id FROM notifications WHERE tweet_id = ?', [reply])
    t.equal(page.next_cursor, (row as { id: number }).id)
    await pool.query('DELETE FROM blocks')
  })

  t.test('markRead moves the mark up only and answers what is still unread', async (t) => {
    const ids = (await notifications.list(alice, { limit: 10 })).items.map((item) => item.id)
    const before = (await notifications.list(alice, { limit: 10 })).unread_count
    t.same(await notifications.markRead(alice, ids[1]), { unread_count: 1 })
    t.same(await notifications.markRead(alice, ids[2]), { unread_count: 1 })
    t.same(await notifications.markRead(alice, Number.MAX_SAFE_INTEGER), { unread_count: 0 })
    t.equal(before, 4)
  })
})
