import t from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import { NotificationDao } from '../../model/notification-dao.ts'
import { TweetDao } from '../../model/tweet-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { testPool } from '../helper.ts'

const newest = { after: 0, before: Number.MAX_SAFE_INTEGER, oldestFirst: false }

t.test('NotificationDao', async (t) => {
  const pool = await testPool(t)
  const users = new UserDao(pool)
  const tweets = new TweetDao(pool)
  const notifications = new NotificationDao(pool)
  const user = (name: string) =>
    users.insertUser({ name, username: name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
  const [alice, bob, carol] = [await user('alice'), await user('bob'), await user('carol')]
  const tweet = (await tweets.postTweet(alice, 'alice speaks'))!.id
  const all = async (userId: number) =>
    (await notifications.page(userId, newest, 100)).map((row) => [row.type, row.actor_id, row.tweet_id])
  const clear = () => pool.query('DELETE FROM notifications')

  t.test('add writes one notification per source, and says whether it wrote', async (t) => {
    t.equal(await notifications.add(pool, alice, 'follow', bob, null), true)
    t.equal(await notifications.add(pool, alice, 'follow', bob, null), false, 'a follow without a tweet collides too')
    t.equal(await notifications.add(pool, alice, 'like', bob, tweet), true)
    t.equal(await notifications.add(pool, alice, 'like', bob, tweet), false)
    t.equal(await notifications.add(pool, alice, 'like', carol, tweet), true, 'another actor is another source')
    t.same(await all(alice), [
      ['like', carol, tweet],
      ['like', bob, tweet],
      ['follow', bob, null]
    ])
    t.same(await all(bob), [])
    await clear()
  })

  t.test('never for your own action, across a block either way, or from someone you mute', async (t) => {
    t.equal(await notifications.add(pool, alice, 'like', alice, tweet), false)
    await pool.query('INSERT INTO blocks (user_id, blocked_id) VALUES (?, ?)', [alice, bob])
    t.equal(await notifications.add(pool, alice, 'follow', bob, null), false, 'the recipient blocks the actor')
    t.equal(await notifications.add(pool, bob, 'follow', alice, null), false, 'the actor blocks the recipient')
    await pool.query('INSERT INTO mutes (user_id, muted_id) VALUES (?, ?)', [alice, carol])
    t.equal(await notifications.add(pool, alice, 'follow', carol, null), false, 'the recipient mutes the actor')
    t.equal(await notifications.add(pool, carol, 'follow', alice, null), true, 'a mute is one way')
    t.same(await all(alice), [])
    await pool.query('DELETE FROM blocks')
    await pool.query('DELETE FROM mutes')
    await clear()
  })

  t.test('addForReply notifies the parent’s author, on the same terms', async (t) => {
    const reply = (await tweets.postTweet(bob, 'bob answers', tweet))!.id
    const own = (await tweets.postTweet(alice, 'alice answers herself', tweet))!.id
    const root = (await tweets.postTweet(bob, 'no parent'))!.id
    t.equal(await notifications.addForReply(pool, reply), true)
    t.equal(await notifications.addForReply(pool, reply), false)
    t.equal(await notifications.addForReply(pool, own), false, 'not for answering yourself')
    t.equal(await notifications.addForReply(pool, root), false, 'not for a tweet that answers none')
    t.same(await all(alice), [['reply', bob, reply]])
    await clear()
  })

  t.test('addForMentions notifies each named user once, not the replied-to author, on the same terms', async (t) => {
    const dave = await user('dave')
    const mention = (await tweets.postTweet(bob, 'hi alice and carol'))!.id
    await notifications.addForMentions(pool, mention, [alice, carol, bob])
    await notifications.addForMentions(pool, mention, [alice, carol])
    t.same(await all(alice), [['mention', bob, mention]], 'once, however often it is asked')
    t.same(await all(carol), [['mention', bob, mention]])
    t.same(await all(bob), [], 'not for mentioning yourself')
    const reply = (await tweets.postTweet(bob, 'answering alice, naming dave', tweet))!.id
    await notifications.addForMentions(pool, reply, [alice, dave])
    t.same(await all(alice), [['mention', bob, mention]], 'the replied-to author gets the reply’s notification')
    t.same(await all(dave), [['mention', bob, reply]])
    await pool.query('INSERT INTO mutes (user_id, muted_id) VALUES (?, ?)', [dave, bob])
    const muted = (await tweets.postTweet(bob, 'dave again'))!.id
    await notifications.addForMentions(pool, muted, [dave])
    await notifications.addForMentions(pool, muted, [])
    t.same(await all(dave), [['mention', bob, reply]], 'none from someone the recipient mutes')
    await pool.query('DELETE FROM mutes')
    await clear()
  })

  t.test('addForTweet notifies the tweet’s author, on the same terms', async (t) => {
    t.equal(await notifications.addForTweet(pool, 'like', bob, tweet), true)
    t.equal(await notifications.addForTweet(pool, 'like', bob, tweet), false)
    t.equal(await notifications.addForTweet(pool, 'retweet', bob, tweet), true)
    t.equal(await notifications.addForTweet(pool, 'like', alice, tweet), false, 'not for liking your own')
    t.equal(await notifications.addForTweet(pool, 'like', bob, 999_999), false, 'not for a tweet that is not there')
    t.same(await all(alice), [
      ['retweet', bob, tweet],
      ['like', bob, tweet]
    ])
    await clear()
  })

  t.test('removeFollow, removeForTweet, removeBetween and removeFrom take exactly their sources', async (t) => {
    await notifications.add(pool, alice, 'follow', bob, null)
    await notifications.add(pool, alice, 'like', bob, tweet)
    await notifications.add(pool, alice, 'like', carol, tweet)
    await notifications.add(pool, alice, 'retweet', bob, tweet)
    await notifications.add(pool, bob, 'follow', alice, null)
    await notifications.add(pool, carol, 'follow', alice, null)
    await notifications.removeForTweet(pool, 'like', bob, tweet)
    t.same(await all(alice), [
      ['retweet', bob, tweet],
      ['like', carol, tweet],
      ['follow', bob, null]
    ])
    await notifications.removeForTweet(pool, 'retweet', bob, tweet)
    t.same(await all(alice), [
      ['like', carol, tweet],
      ['follow', bob, null]
    ])
    await notifications.removeFollow(pool, alice, bob)
    t.same(await all(alice), [['like', carol, tweet]])
    await notifications.add(pool, alice, 'follow', bob, null)
    await notifications.removeBetween(pool, bob, alice)
    t.same(await all(alice), [['like', carol, tweet]])
    t.same(await all(bob), [], 'both directions')
    await notifications.removeFrom(pool, alice, carol)
    t.same(await all(alice), [])
    t.same(await all(carol), [['follow', alice, null]], 'one direction')
    await clear()
  })

  t.test('a deleted tweet takes its notifications with it', async (t) => {
    const other = (await tweets.postTweet(alice, 'soon gone'))!.id
    await notifications.add(pool, alice, 'like', bob, other)
    await pool.query('DELETE FROM tweets WHERE id = ?', [other])
    t.same(await all(alice), [])
  })

  t.test('pages both ways by id; the unread count is what lies above the read mark', async (t) => {
    for (const actor of [bob, carol]) await notifications.add(pool, alice, 'follow', actor, null)
    await notifications.add(pool, alice, 'like', bob, tweet)
    const ids = (await notifications.page(alice, newest, 10)).map((row) => row.id)
    t.equal(ids.length, 3)
    t.same(
      (await notifications.page(alice, { after: 0, before: ids[0], oldestFirst: false }, 1)).map((row) => row.id),
      [ids[1]]
    )
    t.same(
      (await notifications.page(alice, { after: ids[2], before: Number.MAX_SAFE_INTEGER, oldestFirst: true }, 1)).map(
        (row) => row.id
      ),
      [ids[1]]
    )
    t.equal(await notifications.unreadCount(alice), 3)
    await notifications.markRead(pool, alice, ids[1])
    t.equal(await notifications.unreadCount(alice), 1)
    await notifications.markRead(pool, alice, ids[2])
    t.equal(await notifications.unreadCount(alice), 1, 'the mark never moves down')
    const [rows] = await pool.query<RowDataPacket[]>('SELECT notifications_read_id FROM users WHERE id = ?', [alice])
    t.equal(Number(rows[0].notifications_read_id), ids[1])
    t.equal(await notifications.unreadCount(bob), 0)
    await clear()
  })
})
