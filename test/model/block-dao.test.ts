import t from 'tap'
import { BlockDao } from '../../model/block-dao.ts'
import { FollowDao } from '../../model/follow-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { testPool } from '../helper.ts'

t.test('BlockDao and FollowDao.relationship, viewerRelations', async (t) => {
  const pool = await testPool(t)
  const users = new UserDao(pool)
  const blocks = new BlockDao(pool)
  const follows = new FollowDao(pool)
  const user = (name: string) =>
    users.insertUser({
      name,
      username: name,
      email: `${name}@example.com`,
      profile: `${name}'s profile`,
      hashedPassword: 'x'
    })
  const [alice, bob, carol] = [await user('alice'), await user('bob'), await user('carol')]

  t.test('add and remove are idempotent and say whether a row changed, per table', async (t) => {
    t.equal(await blocks.add(pool, 'block', alice, bob), true)
    t.equal(await blocks.add(pool, 'block', alice, bob), false)
    t.equal(await blocks.add(pool, 'mute', alice, bob), true, 'a mute is a row of its own')
    t.equal(await blocks.remove(pool, 'block', alice, bob), true)
    t.equal(await blocks.remove(pool, 'block', alice, bob), false)
    t.equal(await blocks.remove(pool, 'mute', alice, bob), true)
    t.equal(await blocks.remove(pool, 'mute', alice, bob), false)
  })

  t.test('blockedEitherWay sees a block from either side, and nothing else', async (t) => {
    await blocks.add(pool, 'block', alice, bob)
    await blocks.add(pool, 'mute', carol, alice)
    t.equal(await blocks.blockedEitherWay(pool, alice, bob), true)
    t.equal(await blocks.blockedEitherWay(pool, bob, alice), true)
    t.equal(await blocks.blockedEitherWay(pool, alice, carol), false, 'a mute is no block')
    t.equal(await blocks.blockedEitherWay(pool, bob, carol), false)
    await blocks.remove(pool, 'block', alice, bob)
    await blocks.remove(pool, 'mute', carol, alice)
  })

  t.test('relationship reports follows both ways, blocks both ways and the caller’s mute', async (t) => {
    const none = { following: false, followed_by: false, blocking: false, blocked_by: false, muting: false }
    t.same(await follows.relationship(pool, alice, bob), none)
    await follows.follow(pool, alice, bob)
    t.same(await follows.relationship(pool, alice, bob), { ...none, following: true })
    t.same(await follows.relationship(pool, bob, alice), { ...none, followed_by: true })
    await blocks.add(pool, 'block', bob, alice)
    await blocks.add(pool, 'mute', alice, bob)
    t.same(await follows.relationship(pool, alice, bob), { ...none, following: true, blocked_by: true, muting: true })
    t.same(await follows.relationship(pool, bob, alice), { ...none, followed_by: true, blocking: true })
    await follows.unfollow(pool, alice, bob)
    await blocks.remove(pool, 'block', bob, alice)
    await blocks.remove(pool, 'mute', alice, bob)
  })

  t.test('viewerRelations: of the users asked, whom the viewer follows and who is blocked either way', async (t) => {
    const erin = await user('erin')
    await follows.follow(pool, alice, bob)
    await follows.follow(pool, alice, erin)
    await follows.follow(pool, carol, alice)
    await blocks.add(pool, 'block', alice, carol)
    await blocks.add(pool, 'block', erin, alice)
    await blocks.add(pool, 'mute', alice, bob)
    const relations = await follows.viewerRelations(alice, [bob, carol, erin])
    t.same(
      [...relations.following].sort(),
      [bob, erin].sort(),
      'a mute keeps the follow; being followed is not following'
    )
    t.same([...relations.blocked].sort(), [carol, erin].sort(), 'blocking and blocked by')
    const askedFew = await follows.viewerRelations(alice, [bob])
    t.same([[...askedFew.following], [...askedFew.blocked]], [[bob], []], 'only the users asked')
    const none = await follows.viewerRelations(alice, [])
    t.same([none.following.size, none.blocked.size], [0, 0])
    for (const followee of [bob, erin]) await follows.unfollow(pool, alice, followee)
    await follows.unfollow(pool, carol, alice)
    await blocks.remove(pool, 'block', alice, carol)
    await blocks.remove(pool, 'block', erin, alice)
    await blocks.remove(pool, 'mute', alice, bob)
  })

  t.test('list pages one table’s accounts by user id, highest first, as summaries', async (t) => {
    const dave = await user('dave')
    for (const id of [bob, carol, dave]) await blocks.add(pool, 'block', alice, id)
    await blocks.add(pool, 'mute', alice, carol)
    t.same(
      (await blocks.list('block', alice, Number.MAX_SAFE_INTEGER, 2)).map((row) => [
        row.id,
        row.name,
        row.username,
        row.profile
      ]),
      [
        [dave, 'dave', 'dave', "dave's profile"],
        [carol, 'carol', 'carol', "carol's profile"]
      ]
    )
    t.same(
      (await blocks.list('block', alice, carol, 10)).map((row) => row.id),
      [bob]
    )
    t.same(
      (await blocks.list('mute', alice, Number.MAX_SAFE_INTEGER, 10)).map((row) => row.id),
      [carol]
    )
    t.same(await blocks.list('block', bob, Number.MAX_SAFE_INTEGER, 10), [])
  })

  t.test('a deleted user takes their blocks and mutes with them, both sides', async (t) => {
    await blocks.add(pool, 'block', carol, alice)
    await pool.query('DELETE FROM users WHERE id = ?', [carol])
    const [rows] = await pool.query('SELECT COUNT(*) AS n FROM blocks WHERE user_id = ? OR blocked_id = ?', [
      carol,
      carol
    ])
    t.same(rows, [{ n: 0 }])
    const [muted] = await pool.query('SELECT COUNT(*) AS n FROM mutes WHERE muted_id = ?', [carol])
    t.same(muted, [{ n: 0 }])
  })
})
