import t from 'tap'
import { Transactor } from '../../model/database.ts'
import { DuplicateUser, UserDao } from '../../model/user-dao.ts'
import { rejection, testPool } from '../helper.ts'

t.test('UserDao', async (t) => {
  const pool = await testPool(t)
  const dao = new UserDao(pool)
  const transactor = new Transactor(pool)
  const newUser = {
    name: '송은우',
    username: 'Eunwoo_Song',
    email: 'eunwoo@example.com',
    profile: '백엔드 개발자 😀',
    hashedPassword: 'hash'
  }

  t.test('inserts a user and reads it back with utf8mb4 text intact', async (t) => {
    const id = await dao.insertUser(newUser)
    const user = await dao.userById(id)
    t.match(user, {
      id,
      name: '송은우',
      username: 'Eunwoo_Song',
      email: 'eunwoo@example.com',
      profile: '백엔드 개발자 😀',
      profile_picture: null
    })
    t.ok(user!.created_at instanceof Date)
    t.ok(Math.abs(user!.created_at.getTime() - Date.now()) < 60_000, 'created_at is stored in UTC')
    t.notOk('hashed_password' in user!)
  })

  t.test('a duplicate email fails as DuplicateUser naming the email, whatever its case', async (t) => {
    const error = await rejection(() =>
      dao.insertUser({ ...newUser, username: 'someone_else', email: 'EUNWOO@example.com' })
    )
    t.ok(error instanceof DuplicateUser)
    t.match(error, { name: 'DuplicateUser', field: 'email', message: 'Another user has this email' })
  })

  t.test('a duplicate username fails as DuplicateUser naming the username, whatever its case', async (t) => {
    await t.rejects(
      dao.insertUser({ ...newUser, username: 'eunwoo_song', email: 'other@example.com' }),
      new DuplicateUser('username')
    )
    t.equal(await dao.emailTaken('other@example.com'), false, 'nothing was inserted')
  })

  t.test('an error that is no duplicate key passes through as it is', async (t) => {
    await t.rejects(dao.insertUser({ ...newUser, username: 'u'.repeat(31), email: 'long@example.com' }), {
      code: 'ER_DATA_TOO_LONG'
    })
  })

  t.test('a duplicate on a key that guards neither email nor username passes through as it is', async (t) => {
    await pool.query('ALTER TABLE users ADD UNIQUE KEY users_name_for_test (name)')
    t.teardown(() => pool.query('ALTER TABLE users DROP KEY users_name_for_test'))
    const error = await rejection(() =>
      dao.insertUser({ ...newUser, username: 'same_name', email: 'same.name@example.com' })
    )
    t.notOk(error instanceof DuplicateUser)
    t.match(error, { code: 'ER_DUP_ENTRY', message: /users_name_for_test/ })
  })

  t.test('profileByUsername finds a user whatever the case asked, and nothing for an unknown one', async (t) => {
    for (const asked of ['Eunwoo_Song', 'eunwoo_song', 'EUNWOO_SONG']) {
      t.match(await dao.profileByUsername(asked), { username: 'Eunwoo_Song', name: '송은우', followers_count: 0 })
    }
    t.equal(await dao.profileByUsername('nobody'), undefined)
  })

  t.test('token state: the version, raised with or without a new hash, and revoked token ids', async (t) => {
    const id = await dao.insertUser({ ...newUser, username: 'tokens', email: 'tokens@example.com' })
    t.same(await dao.tokenState(id, 'some-id'), { token_version: 0, revoked: false })
    t.equal(await dao.tokenState(999_999, 'some-id'), undefined, 'no such account')
    await dao.revokeToken('some-id', id, new Date(Date.now() + 60_000))
    await dao.revokeToken('some-id', id, new Date(Date.now() + 60_000))
    t.same(await dao.tokenState(id, 'some-id'), { token_version: 0, revoked: true }, 'twice is once')
    t.same(await dao.tokenState(id, 'other-id'), { token_version: 0, revoked: false })
    await dao.revokeToken('stale-id', id, new Date(Date.now() - 60_000))
    await dao.revokeToken('another-id', id, new Date(Date.now() + 60_000))
    t.same(await dao.tokenState(id, 'stale-id'), { token_version: 0, revoked: false }, 'past its expiry, gone')
    t.equal(await dao.newTokenVersion(pool, id), 1)
    t.match(await dao.credentialsById(id), { id, hashed_password: newUser.hashedPassword, token_version: 1 })
    t.equal(await dao.newTokenVersion(pool, id, 'new hash'), 2)
    t.match(await dao.credentialsById(id), { hashed_password: 'new hash', token_version: 2 })
    t.match(await dao.credentialsByEmail('tokens@example.com'), { id, token_version: 2 })
    t.equal(await dao.newTokenVersion(pool, 999_999), undefined)
    t.equal(await dao.credentialsById(999_999), undefined)
  })

  t.test('usersByUsernames answers the users of the taken ones, spelled as chosen, for any case asked', async (t) => {
    const owner = await dao.profileByUsername('Eunwoo_Song')
    t.same(await dao.usersByUsernames(['EUNWOO_SONG', 'free_name']), [{ id: owner!.id, username: 'Eunwoo_Song' }])
    t.same(await dao.usersByUsernames(['free_name']), [])
    t.same(await dao.usersByUsernames([]), [])
  })

  t.test('updateProfile changes the username; another user’s, in any case, is a DuplicateUser', async (t) => {
    const id = await dao.insertUser({ ...newUser, username: 'renamer', email: 'renamer@example.com' })
    t.equal(await dao.updateProfile(id, { username: 'Renamed' }), true)
    t.match(await dao.userById(id), { username: 'Renamed', name: '송은우' }, 'the other fields stay')
    await t.rejects(dao.updateProfile(id, { username: 'EUNWOO_song' }), new DuplicateUser('username'))
    t.equal((await dao.userById(id))?.username, 'Renamed', 'a refused change changes nothing')
    t.equal(await dao.updateProfile(id, { username: 'RENAMED' }), true, 'its own in another case is free')
    t.equal((await dao.userById(id))?.username, 'RENAMED')
    t.equal(await dao.updateProfile(424242, { username: 'ghost' }), false)
  })

  t.test('finds credentials by email, and nothing for an unknown one', async (t) => {
    t.match(await dao.credentialsByEmail('eunwoo@example.com'), { hashed_password: 'hash' })
    t.equal(await dao.credentialsByEmail('nobody@example.com'), undefined)
  })

  t.test('emailTaken finds an email whatever its case, and only a stored one', async (t) => {
    t.equal(await dao.emailTaken('eunwoo@example.com'), true)
    t.equal(await dao.emailTaken('EunWoo@Example.com'), true)
    t.equal(await dao.emailTaken('nobody@example.com'), false)
  })

  t.test('exists and userById tell unknown ids apart', async (t) => {
    t.equal(await dao.exists(424242), false)
    t.equal(await dao.userById(424242), undefined)
  })

  t.test("replaceProfilePicture returns the key it replaced, in the caller's transaction", async (t) => {
    const id = await dao.insertUser({ ...newUser, username: 'pic', email: 'pic@example.com' })
    const replace = (userId: number, key: string) =>
      transactor.run((connection) => dao.replaceProfilePicture(connection, userId, key))
    t.same(await replace(id, 'profile/a.png'), { previous: null })
    t.same(await replace(id, 'profile/b.png'), { previous: 'profile/a.png' })
    const rolledBack = transactor.run(async (connection) => {
      t.same(await dao.replaceProfilePicture(connection, id, 'profile/c.png'), { previous: 'profile/b.png' })
      throw new Error('rolled back')
    })
    await t.rejects(rolledBack, { message: 'rolled back' })
    t.equal(await dao.profilePicture(id), 'profile/b.png', 'a rolled-back change is undone')
    t.equal(await replace(424242, 'profile/c.png'), undefined)
    t.equal(await dao.profilePicture(424242), undefined)
  })

  t.test('a deactivated account is gone for every read, and its tokens with it', async (t) => {
    const id = await dao.insertUser({ ...newUser, username: 'leaving', email: 'leaving@example.com' })
    const other = await dao.insertUser({ ...newUser, username: 'staying', email: 'staying@example.com' })
    t.equal((await dao.authors([id])).size, 1)
    t.equal(await transactor.run((connection) => dao.deactivate(connection, id, 3600)), true)
    t.equal(await transactor.run((connection) => dao.deactivate(connection, id, 3600)), false, 'once')
    t.equal(await dao.userById(id), undefined)
    t.equal(await dao.profileById(id, true), undefined)
    t.equal(await dao.profileByUsername('leaving'), undefined)
    t.equal(await dao.exists(id), false)
    t.equal(await dao.timelineState(id), undefined)
    t.equal(await dao.credentialsById(id), undefined)
    t.equal(await dao.tokenState(id, ''), undefined, 'its tokens are for an account gone')
    t.equal(await dao.profilePicture(id), undefined)
    t.equal(await dao.updateProfile(id, { name: 'changed' }), false)
    t.equal((await dao.authors([id])).size, 0, 'its tweets lose their author')
    t.equal(
      await transactor.run((connection) => dao.lockPair(connection, other, id)),
      undefined,
      'nobody can follow it'
    )
    t.match(await transactor.run((connection) => dao.lockPair(connection, other, id, true)), { fanout: 'push' })
    t.match(await dao.credentialsByEmail('leaving@example.com'), { id, deactivated: true, restorable: true })
    t.same(
      (await dao.usersByUsernames(['leaving'])).map((user) => user.id),
      [id],
      'its username stays taken'
    )
    t.same(await dao.usersByUsernames(['leaving'], true), [], 'but nobody can mention it')
    t.same(await dao.dueForErasure(10), [], 'not due within its grace period')
    t.equal(await dao.deleteErased(id), false)
  })

  t.test('lockPair answers the target’s fan-out state, whichever of the two has the lower id', async (t) => {
    const first = await dao.insertUser({ ...newUser, username: 'first_id', email: 'first.id@example.com' })
    const second = await dao.insertUser({ ...newUser, username: 'second_id', email: 'second.id@example.com' })
    await transactor.run(async (connection) => {
      await dao.setFanout(connection, second, 'pull')
      await connection.execute('UPDATE users SET followers_count = 7 WHERE id = ?', [second])
    })
    t.same(await transactor.run((c) => dao.lockPair(c, first, second)), { fanout: 'pull', followers_count: 7 })
    t.same(await transactor.run((c) => dao.lockPair(c, second, first)), { fanout: 'push', followers_count: 0 })
    t.equal(await transactor.run((c) => dao.lockPair(c, first, 999_999)), undefined, 'an unknown target')
  })

  t.test('lockPoster answers the poster’s fan-out state; addTweetsCount moves the counter', async (t) => {
    const poster = await dao.insertUser({ ...newUser, username: 'poster', email: 'poster@example.com' })
    await transactor.run(async (connection) => {
      await dao.setFanout(connection, poster, 'pull')
      await dao.addTweetsCount(connection, poster, 3)
      await dao.addTweetsCount(connection, poster, -1)
    })
    t.same(await transactor.run((c) => dao.lockPoster(c, poster)), { fanout: 'pull', followers_count: 0 })
    t.equal(await transactor.run((c) => dao.lockPoster(c, 999_999)), undefined)
    t.match(await dao.profileById(poster), { tweets_count: 2 })
  })

  t.test('restore undoes a deactivation within its grace period only', async (t) => {
    const id = await dao.insertUser({ ...newUser, username: 'back', email: 'back@example.com' })
    t.equal(await dao.restore(id), false, 'nothing to restore')
    await transactor.run((connection) => dao.deactivate(connection, id, 3600))
    t.equal(await dao.restore(id), true)
    t.match(await dao.credentialsByEmail('back@example.com'), { deactivated: false, restorable: false })
    t.equal(await dao.exists(id), true)
    await transactor.run((connection) => dao.deactivate(connection, id, 0))
    t.match(await dao.credentialsByEmail('back@example.com'), { deactivated: true, restorable: false })
    t.equal(await dao.restore(id), false, 'due: no longer restorable')
    t.ok((await dao.dueForErasure(10)).includes(id))
    t.equal(await dao.deleteErased(id), true)
    t.equal(await dao.credentialsByEmail('back@example.com'), undefined, 'the email is free')
  })
})

t.test('authors: names and pictures for tweets, from memory with a bounded age', async (t) => {
  const pool = await testPool(t)
  const transactor = new Transactor(pool)
  // Two instances of the service share the database; each has its own memory.
  const here = new UserDao(pool, pool, { ttlMs: 60_000, maxEntries: 100 })
  const elsewhere = new UserDao(pool)
  const user = (name: string) =>
    here.insertUser({
      name,
      username: `${name}_handle`,
      email: `${name}@example.com`,
      profile: '',
      hashedPassword: 'x'
    })
  const alice = await user('alice')
  const bob = await user('bob')
  const nameOf = async (dao: UserDao, id: number) => (await dao.authors([id])).get(id)?.name

  t.test('answers every existing id once, and nothing for an unknown one', async (t) => {
    const authors = await here.authors([alice, bob, alice, 999_999])
    t.same([...authors.keys()].sort(), [alice, bob].sort())
    t.same(authors.get(alice), { id: alice, name: 'alice', username: 'alice_handle', profile_picture: null })
  })

  t.test('a username changed through this instance shows at once', async (t) => {
    await here.updateProfile(bob, { username: 'Bob_New' })
    t.equal((await here.authors([bob])).get(bob)?.username, 'Bob_New')
    await here.updateProfile(bob, { username: 'bob_handle' })
    t.equal((await here.authors([bob])).get(bob)?.username, 'bob_handle')
  })

  t.test('a remembered author is answered as remembered, username included', async (t) => {
    const remembered = { id: alice, name: 'alice', username: 'Alice_Posted', profile_picture: null }
    here.rememberAuthor(remembered)
    t.same((await here.authors([alice])).get(alice), remembered)
    here.forgetAuthor(alice)
    t.equal((await here.authors([alice])).get(alice)?.username, 'alice_handle')
  })

  t.test('a change made through this instance shows at once', async (t) => {
    await here.updateProfile(alice, { name: 'alice 2' })
    t.equal(await nameOf(here, alice), 'alice 2')
    await transactor.run((connection) => here.replaceProfilePicture(connection, alice, 'pictures/a.png'))
    here.forgetAuthor(alice)
    t.equal((await here.authors([alice])).get(alice)?.profile_picture, 'pictures/a.png')
  })

  t.test('a change made elsewhere shows once the entry is older than the TTL', async (t) => {
    const short = new UserDao(pool, pool, { ttlMs: 30, maxEntries: 100 })
    t.equal(await nameOf(short, bob), 'bob')
    await elsewhere.updateProfile(bob, { name: 'bob 2' })
    t.equal(await nameOf(short, bob), 'bob', 'a fresh entry is answered from memory')
    await new Promise((resolve) => setTimeout(resolve, 60))
    t.equal(await nameOf(short, bob), 'bob', 'an old entry is still answered, and refreshed behind the read')
    await short.authorsSettled()
    t.equal(await nameOf(short, bob), 'bob 2')
  })

  t.test('the least recently read are dropped beyond maxEntries', async (t) => {
    const small = new UserDao(pool, pool, { ttlMs: 60_000, maxEntries: 1 })
    t.equal(await nameOf(small, alice), 'alice 2')
    t.equal(await nameOf(small, bob), 'bob 2')
    await elsewhere.updateProfile(alice, { name: 'alice 3' })
    t.equal(await nameOf(small, alice), 'alice 3', 'alice was dropped for bob, so she is read again')
  })

  t.test('deactivating and restoring an account through this instance shows at once', async (t) => {
    const carol = await user('carol')
    t.equal(await nameOf(here, carol), 'carol', 'now in memory')
    await transactor.run((connection) => here.deactivate(connection, carol, 3600))
    t.equal(await nameOf(here, carol), undefined, 'a deleted account is no author')
    t.equal(await here.restore(carol), true)
    t.equal(await nameOf(here, carol), 'carol', 'restored: an author again')
  })

  t.test('TTL 0 reads every time', async (t) => {
    await here.updateProfile(bob, { name: 'bob 3' })
    t.equal(await nameOf(elsewhere, bob), 'bob 3')
    await here.updateProfile(bob, { name: 'bob 4' })
    t.equal(await nameOf(elsewhere, bob), 'bob 4')
  })
})
