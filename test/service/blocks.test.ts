// FollowService's blocks and mutes: what a block does to follows, counters and timelines, both ways; a
// mute one way; idempotency, refusals and the lists.
import t, { type Test } from 'tap'
import { BlockDao } from '../../model/block-dao.ts'
import { Transactor } from '../../model/database.ts'
import { FanoutDao } from '../../model/fanout-dao.ts'
import { NotificationDao } from '../../model/notification-dao.ts'
import { FollowDao } from '../../model/follow-dao.ts'
import { TimelineDao } from '../../model/timeline-dao.ts'
import { TweetDao } from '../../model/tweet-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { Forbidden, Invalid, NotFound } from '../../service/errors.ts'
import { FanoutService } from '../../service/fanout-service.ts'
import { FollowService } from '../../service/follow-service.ts'
import { LocalStorage } from '../../service/storage/local.ts'
import { TweetService } from '../../service/tweet-service.ts'
import { ConsistencyDao } from '../consistency.ts'
import { testPool, testPublicUrl, testUploadDir } from '../helper.ts'

async function services(t: Test) {
  const pool = await testPool(t, { connectionLimit: 12 })
  const storage = new LocalStorage(await testUploadDir(t), testPublicUrl)
  const users = new UserDao(pool)
  const followDao = new FollowDao(pool)
  const timelineDao = new TimelineDao(pool)
  const fanoutDao = new FanoutDao(pool)
  const transactor = new Transactor(pool)
  const follows = new FollowService(
    transactor,
    followDao,
    new BlockDao(pool),
    new NotificationDao(pool),
    timelineDao,
    users,
    storage,
    {
      fanoutMaxFollowers: 1000,
      timelineBackfill: 800
    }
  )
  const tweets = new TweetService(
    transactor,
    new TweetDao(pool),
    timelineDao,
    users,
    followDao,
    storage,
    undefined,
    { wake() {} },
    fanoutDao,
    new NotificationDao(pool)
  )
  const fanout = new FanoutService(transactor, fanoutDao, timelineDao, {
    chunkSize: 1000,
    leaseMs: 10_000,
    claimBatch: 10
  })
  const user = (name: string) =>
    users.insertUser({
      name,
      username: name,
      email: `${name}@example.com`,
      profile: `${name}'s profile`,
      hashedPassword: 'x'
    })
  const counts = async (id: number) => {
    const profile = (await users.profileById(id, true))!
    return [profile.followers_count, profile.following_count]
  }
  const timeline = async (owner: number) =>
    (await tweets.timelineFor(owner, { limit: 100 })).items.map((item) => item.tweet)
  return { pool, follows, tweets, fanout, user, counts, timeline, consistency: new ConsistencyDao(pool) }
}

const none = { following: false, followed_by: false, blocking: false, blocked_by: false, muting: false }

t.test('FollowService: blocks', async (t) => {
  const { pool, follows, tweets, fanout, user, counts, timeline, consistency } = await services(t)
  const [alice, bob, carol] = [await user('alice'), await user('bob'), await user('carol')]

  t.test('a block ends the follows both ways, with counters and both home timelines corrected', async (t) => {
    await follows.follow(alice, bob)
    await follows.follow(bob, alice)
    await follows.follow(carol, bob)
    await tweets.tweet(alice, 'from alice')
    await tweets.tweet(bob, 'from bob')
    await fanout.drain()
    t.same(await timeline(alice), ['from bob', 'from alice'])
    t.same(await timeline(bob), ['from bob', 'from alice'])
    t.same(await counts(bob), [2, 1])

    const relationship = await follows.block(alice, bob)
    t.same(relationship, { ...none, blocking: true }, 'the answer is how alice now stands towards bob')
    t.same(await follows.relationship(bob, alice), { ...none, blocked_by: true }, 'and bob towards alice')
    t.same(await counts(alice), [0, 0])
    t.same(await counts(bob), [1, 0], 'carol still follows bob')
    t.same(await timeline(alice), ['from alice'])
    t.same(await timeline(bob), ['from bob'])
    t.same(await timeline(carol), ['from bob'])
    t.same(
      Object.values(await consistency.violations()).filter((n) => n > 0),
      []
    )
  })

  t.test('while a block stands, neither may follow the other (403); unblocking lets them again', async (t) => {
    await t.rejects(follows.follow(bob, alice), Forbidden)
    await t.rejects(follows.follow(alice, bob), Forbidden)
    t.same(await counts(alice), [0, 0], 'nothing was written')
    t.same(await follows.unblock(alice, bob), none, 'the follows the block ended stay ended')
    await follows.follow(bob, alice)
    t.same(await follows.relationship(alice, bob), { ...none, followed_by: true })
    await follows.unfollow(bob, alice)
  })

  t.test('blocking and unblocking are idempotent; the other’s block stands alone', async (t) => {
    t.same(await follows.block(alice, carol), { ...none, blocking: true })
    t.same(await follows.block(alice, carol), { ...none, blocking: true })
    t.same(await follows.block(carol, alice), { ...none, blocking: true, blocked_by: true })
    t.same(await follows.unblock(alice, carol), { ...none, blocked_by: true }, 'carol still blocks alice')
    t.same(await follows.unblock(alice, carol), { ...none, blocked_by: true })
    await t.rejects(follows.follow(alice, carol), Forbidden)
    await follows.unblock(carol, alice)
  })

  t.test('(un)blocking yourself is refused naming the field; an unknown user is not found, named', async (t) => {
    await t.rejects(follows.block(alice, alice), new Invalid('You cannot block yourself', { field: 'block' }))
    await t.rejects(follows.unblock(alice, alice), new Invalid('You cannot unblock yourself', { field: 'block' }))
    const notFound = new NotFound('User not found', { user_id: 999_999 })
    await t.rejects(follows.block(alice, 999_999), notFound)
    await t.rejects(follows.unblock(alice, 999_999), notFound)
    await t.rejects(follows.relationship(alice, 999_999), notFound)
  })

  t.test('a block racing follows never leaves a follow across it', async (t) => {
    const [dave, erin] = [await user('dave'), await user('erin')]
    for (let round = 0; round < 10; round++) {
      const results = await Promise.allSettled([
        follows.follow(dave, erin),
        follows.follow(erin, dave),
        follows.block(dave, erin),
        follows.follow(dave, erin)
      ])
      for (const result of results) {
        if (result.status === 'rejected') t.type(result.reason, Forbidden, 'only a follow after the block fails')
      }
      t.same(await follows.relationship(dave, erin), { ...none, blocking: true })
      await follows.unblock(dave, erin)
    }
    t.same(
      Object.values(await consistency.violations()).filter((n) => n > 0),
      []
    )
  })

  t.test('the blocks list pages by user id, highest first, with user summaries', async (t) => {
    const more = [await user('frank'), await user('grace'), await user('heidi')]
    for (const id of more) await follows.block(alice, id)
    const first = await follows.blocks(alice, { limit: 2 })
    t.same(
      first.items.map((item) => [item.id, item.name, item.profile]),
      [
        [more[2], 'heidi', "heidi's profile"],
        [more[1], 'grace', "grace's profile"]
      ]
    )
    t.equal(first.next_cursor, more[1])
    const second = await follows.blocks(alice, { limit: 2, before: first.next_cursor! })
    t.same(
      second.items.map((item) => item.id),
      [more[0]]
    )
    t.equal(second.next_cursor, null)
    t.same((await follows.blocks(bob, { limit: 2 })).items, [], 'blocks are the blocker’s list only')
    await t.rejects(follows.blocks(999_999, { limit: 2 }), NotFound)
    await pool.query('DELETE FROM blocks')
  })
})

t.test('FollowService: follower and following lists as a viewer sees them', async (t) => {
  const { follows, user } = await services(t)
  const [alice, bob, carol, dave, erin] = [
    await user('alice'),
    await user('bob'),
    await user('carol'),
    await user('dave'),
    await user('erin')
  ]
  for (const follower of [bob, carol, dave]) await follows.follow(follower, alice)
  await follows.follow(alice, erin)
  await follows.follow(erin, carol)
  const seen = async (list: 'followers' | 'following', userId: number, viewerId?: number) =>
    (await follows[list](userId, { limit: 10 }, viewerId)).items.map((item) => [item.id, item.following])

  t.test('each entry says whether the viewer follows it; anonymous: false', async (t) => {
    t.same(await seen('followers', alice, erin), [
      [dave, false],
      [carol, true],
      [bob, false]
    ])
    t.same(await seen('following', alice, erin), [[erin, false]], 'the viewer itself: not followed')
    t.same(await seen('followers', alice), [
      [dave, false],
      [carol, false],
      [bob, false]
    ])
  })

  t.test('anyone blocked either way is left out, and back once unblocked', async (t) => {
    await follows.block(erin, bob)
    await follows.block(dave, erin)
    t.same(await seen('followers', alice, erin), [[carol, true]])
    t.same(
      await seen('followers', alice, carol),
      [
        [dave, false],
        [carol, false],
        [bob, false]
      ],
      'others see them all'
    )
    await follows.unblock(erin, bob)
    await follows.unblock(dave, erin)
    t.same(await seen('followers', alice, erin), [
      [dave, false],
      [carol, true],
      [bob, false]
    ])
  })
})

t.test('FollowService: mutes', async (t) => {
  const { follows, user } = await services(t)
  const [alice, bob] = [await user('alice'), await user('bob')]
  await follows.follow(alice, bob)

  t.test('a mute is one way and keeps the follow', async (t) => {
    t.same(await follows.mute(alice, bob), { ...none, following: true, muting: true })
    t.same(await follows.relationship(bob, alice), { ...none, followed_by: true }, 'bob sees nothing')
    await follows.follow(bob, alice)
    t.same(await follows.relationship(alice, bob), { ...none, following: true, followed_by: true, muting: true })
  })

  t.test('muting and unmuting are idempotent; self and unknown users are refused', async (t) => {
    t.same(await follows.mute(alice, bob), { ...none, following: true, followed_by: true, muting: true })
    t.same(await follows.unmute(alice, bob), { ...none, following: true, followed_by: true })
    t.same(await follows.unmute(alice, bob), { ...none, following: true, followed_by: true })
    await t.rejects(follows.mute(alice, alice), new Invalid('You cannot mute yourself', { field: 'mute' }))
    await t.rejects(follows.unmute(alice, 999_999), new NotFound('User not found', { user_id: 999_999 }))
  })

  t.test('the mutes list holds muted users only', async (t) => {
    const carol = await user('carol')
    await follows.mute(alice, carol)
    await follows.block(alice, bob)
    t.same(
      (await follows.mutes(alice, { limit: 10 })).items.map((item) => item.id),
      [carol]
    )
    t.same(
      (await follows.blocks(alice, { limit: 10 })).items.map((item) => item.id),
      [bob]
    )
  })
})
