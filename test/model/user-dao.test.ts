import t from 'tap'
import { UserDao } from '../../model/user-dao.ts'
import { testPool } from '../helper.ts'

t.test('UserDao', async (t) => {
  const dao = new UserDao(await testPool(t))
  const newUser = { name: '송은우', email: 'eunwoo@example.com', profile: '백엔드 개발자 😀', hashedPassword: 'hash' }

  t.test('inserts a user and reads it back with utf8mb4 text intact', async (t) => {
    const id = await dao.insertUser(newUser)
    const user = await dao.userById(id)
    t.match(user, { id, name: '송은우', email: 'eunwoo@example.com', profile: '백엔드 개발자 😀', profile_picture: null })
    t.ok(user!.created_at instanceof Date)
    t.ok(Math.abs(user!.created_at.getTime() - Date.now()) < 60_000, 'created_at is stored in UTC')
    t.notOk('hashed_password' in user!)
  })

  t.test('a duplicate email fails with ER_DUP_ENTRY, whatever its case', async (t) => {
    await t.rejects(dao.insertUser({ ...newUser, email: 'EUNWOO@example.com' }), { code: 'ER_DUP_ENTRY' })
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

  t.test('replaceProfilePicture returns the key it replaced', async (t) => {
    const id = await dao.insertUser({ ...newUser, email: 'pic@example.com' })
    t.same(await dao.replaceProfilePicture(id, 'profile/a.png'), { previous: null })
    t.same(await dao.replaceProfilePicture(id, 'profile/b.png'), { previous: 'profile/a.png' })
    t.equal(await dao.profilePicture(id), 'profile/b.png')
    t.equal(await dao.replaceProfilePicture(424242, 'profile/c.png'), undefined)
    t.equal(await dao.profilePicture(424242), undefined)
  })
})
