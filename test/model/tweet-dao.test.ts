import t from 'tap'
import { FollowDao } from '../../model/follow-dao.ts'
import { TweetDao } from '../../model/tweet-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { testPool } from '../helper.ts'

t.test('TweetDao and FollowDao', async (t) => {
  const pool = await testPool(t)
  const users = new UserDao(pool)
  const tweets = new TweetDao(pool)
  const follows = new FollowDao(pool)
  const user = (name: string) =>
    users.insertUser({ name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
  const [alice, bob, carol] = [await user('alice'), await user('bob'), await user('carol')]

  t.test('follow and unfollow are idempotent', async (t) => {
    t.equal(await follows.follow(alice, bob), true)
    t.equal(await follows.follow(alice, bob), false)
    t.equal(await follows.follow(alice, carol), true)
    t.equal(await follows.unfollow(alice, carol), true)
    t.equal(await follows.unfollow(alice, carol), false)
  })

  t.test('inserts a tweet and reads it back', async (t) => {
    const id = await tweets.insertTweet(alice, '첫 트윗 🎉')
    t.match(await tweets.tweetById(id), { id, user_id: alice, tweet: '첫 트윗 🎉' })
  })

  t.test('a tweet over 300 code points is refused by the column', async (t) => {
    await t.rejects(tweets.insertTweet(alice, 'a'.repeat(301)))
    t.ok(await tweets.insertTweet(alice, '😀'.repeat(300)))
  })

  t.test('the timeline has own and followed tweets, each once, newest first, bounded', async (t) => {
    // Several follow rows must not duplicate the user's own tweets (the book's bug).
    await follows.follow(alice, carol)
    await tweets.insertTweet(bob, 'bob 1')
    await tweets.insertTweet(carol, 'carol 1')
    await tweets.insertTweet(bob, 'bob 2')
    const timeline = await tweets.timeline(alice, 100)
    const ids = timeline.map((row) => row.id)
    t.same(ids, [...ids].sort((a, b) => b - a))
    t.equal(new Set(ids).size, ids.length)
    t.same(timeline.map((row) => row.tweet).slice(0, 3), ['bob 2', 'carol 1', 'bob 1'])
    t.equal(timeline.filter((row) => row.user_id === alice).length, 2)
    t.equal((await tweets.timeline(alice, 2)).length, 2)
    t.same((await tweets.timeline(carol, 100)).map((row) => row.tweet), ['carol 1'])
  })
})
