import t from 'tap'
import { FollowDao } from '../../model/follow-dao.ts'
import { TweetDao } from '../../model/tweet-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { NotFound } from '../../service/errors.ts'
import { TweetService } from '../../service/tweet-service.ts'
import { testPool } from '../helper.ts'

t.test('TweetService', async (t) => {
  const pool = await testPool(t)
  const users = new UserDao(pool)
  const follows = new FollowDao(pool)
  const service = new TweetService(new TweetDao(pool), users)
  const user = (name: string) => users.insertUser({ name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
  const alice = await user('alice')
  const bob = await user('bob')

  t.test('tweet returns the stored tweet', async (t) => {
    const tweet = await service.tweet(alice, 'hello')
    t.match(tweet, { user_id: alice, tweet: 'hello' })
    t.ok(tweet.created_at instanceof Date)
  })

  t.test('timelineFor merges followed users, newest first, within the limit', async (t) => {
    await follows.follow(alice, bob)
    const fromBob = await service.tweet(bob, 'from bob')
    const timeline = await service.timelineFor(alice, 20)
    t.same(timeline.map((row) => row.tweet), ['from bob', 'hello'])
    t.equal(timeline[0].id, fromBob.id)
    t.same((await service.timelineFor(alice, 1)).map((row) => row.tweet), ['from bob'])
  })

  t.test('timelineFor an unknown user is NotFound', async (t) => {
    await t.rejects(service.timelineFor(999999, 20), NotFound)
  })
})
