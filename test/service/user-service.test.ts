import { readdir } from 'node:fs/promises'
import { Readable } from 'node:stream'
import bcrypt from 'bcrypt'
import t from 'tap'
import { UserDao } from '../../model/user-dao.ts'
import { Conflict, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType } from '../../service/errors.ts'
import { LocalStorage } from '../../service/local-storage.ts'
import { UserService } from '../../service/user-service.ts'
import { pngBytes, testPool, testUploadDir } from '../helper.ts'

t.test('UserService', async (t) => {
  const pool = await testPool(t)
  const uploadDir = await testUploadDir(t)
  const userDao = new UserDao(pool)
  const signed: { user_id: number }[] = []
  const tokens = { sign: (payload: { user_id: number }) => (signed.push(payload), `token-for-${payload.user_id}`) }
  const service = new UserService(userDao, new LocalStorage(uploadDir), tokens, {
    bcryptRounds: 4,
    maxUploadBytes: 1024
  })
  const alice = await service.signUp({ name: 'Alice', email: 'alice@example.com', password: 'password123', profile: '' })

  t.test('signUp stores a bcrypt hash, never the password', async (t) => {
    const credentials = await userDao.credentialsByEmail('alice@example.com')
    t.match(credentials!.hashed_password, /^\$2b\$04\$/)
    t.not(credentials!.hashed_password, 'password123')
  })

  t.test('signUp with a taken email is a Conflict', async (t) => {
    await t.rejects(
      service.signUp({ name: 'A', email: 'alice@example.com', password: 'password123', profile: '' }),
      Conflict
    )
  })

  t.test('login signs a token for the right password only', async (t) => {
    t.same(await service.login('alice@example.com', 'password123'), { user_id: alice.id, access_token: `token-for-${alice.id}` })
    t.same(signed.at(-1), { user_id: alice.id })
    await t.rejects(service.login('alice@example.com', 'wrong-password'), Unauthorized)
    await t.rejects(service.login('nobody@example.com', 'password123'), Unauthorized)
  })

  t.test('profile shows the email only to the user themself; updateProfile changes given fields', async (t) => {
    const other = await service.profile(alice.id, false)
    t.notOk('email' in other)
    t.match(other, { id: alice.id, name: 'Alice', followers_count: 0, following_count: 0, tweets_count: 0 })
    t.match(await service.profile(alice.id, true), { email: 'alice@example.com' })
    t.match(await service.updateProfile(alice.id, { profile: 'new text' }), { name: 'Alice', profile: 'new text' })
    t.match(await service.updateProfile(alice.id, { name: 'Alicia' }), { name: 'Alicia', profile: 'new text' })
    await t.rejects(service.profile(999999, false), NotFound)
  })

  t.test('an unknown email costs one bcrypt compare at the configured cost, like a wrong password', async (t) => {
    const compares = t.capture(bcrypt, 'compare', bcrypt.compare)
    await t.rejects(service.login('alice@example.com', 'wrong-password'), Unauthorized)
    await t.rejects(service.login('nobody@example.com', 'wrong-password'), Unauthorized)
    const hashes = compares.args().map((args) => String(args[1]))
    t.equal(hashes.length, 2, 'one compare per login')
    t.match(hashes[0], /^\$2b\$04\$/)
    t.match(hashes[1], /^\$2b\$04\$/, 'the dummy hash has the same cost as a real one')
    t.not(hashes[1], hashes[0])
  })

  t.test('exists tells current accounts from unknown ids', async (t) => {
    t.equal(await service.exists(alice.id), true)
    t.equal(await service.exists(999999), false)
  })

  t.test('profile pictures: sniffed, size-capped, replaced', async (t) => {
    await t.rejects(service.profilePictureUrl(alice.id), NotFound)
    const first = await service.saveProfilePicture(alice.id, Readable.from([pngBytes]))
    t.match(first, /^\/uploads\/profile\/[0-9a-f-]+\.png$/)
    t.equal(await service.profilePictureUrl(alice.id), first)
    const second = await service.saveProfilePicture(alice.id, Readable.from([pngBytes]))
    t.not(second, first)
    t.same(await readdir(`${uploadDir}/profile`), [second.split('/').at(-1)])
    await t.rejects(service.saveProfilePicture(alice.id, Readable.from([Buffer.from('just some text here')])), UnsupportedMediaType)
    await t.rejects(
      service.saveProfilePicture(alice.id, Readable.from([pngBytes, Buffer.alloc(2048)])),
      PayloadTooLarge
    )
    t.same(await readdir(`${uploadDir}/profile`), [second.split('/').at(-1)], 'failed uploads leave no file')
    await t.rejects(service.saveProfilePicture(999999, Readable.from([pngBytes])), NotFound)
    t.same(await readdir(`${uploadDir}/profile`), [second.split('/').at(-1)], 'an unknown user leaves no file')
    await service.deleteProfilePicture(alice.id)
    t.same(await readdir(`${uploadDir}/profile`), [], 'deleting removes the file')
    await t.rejects(service.profilePictureUrl(alice.id), NotFound)
    await t.rejects(service.deleteProfilePicture(alice.id), NotFound)
  })
})
