import { readdir } from 'node:fs/promises'
import { Readable } from 'node:stream'
import bcrypt from 'bcrypt'
import t from 'tap'
import { UserDao } from '../../model/user-dao.ts'
import { Conflict, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized, UnsupportedMediaType } from '../../service/errors.ts'
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
  // The real function, for replacements of bcrypt.hash to call.
  const hash = bcrypt.hash.bind(bcrypt)
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

  t.test('signUp tells the admission whether the email is taken, before hashing a free one', async (t) => {
    const steps: string[] = []
    const admit = async (taken: boolean) => void steps.push(`admit taken=${taken}`)
    t.capture(bcrypt, 'hash', (...args: Parameters<typeof bcrypt.hash>) => (steps.push('hash'), hash(...args)))
    await service.signUp({ name: 'Bob', email: 'bob@example.com', password: 'password123', profile: '' }, admit)
    t.same(steps, ['admit taken=false', 'hash'])
  })

  t.test('a taken email is refused without hashing any password', async (t) => {
    const steps: string[] = []
    const hashes = t.capture(bcrypt, 'hash', bcrypt.hash)
    await t.rejects(
      service.signUp({ name: 'A', email: 'alice@example.com', password: 'password123', profile: '' }, async (taken) => {
        steps.push(`admit taken=${taken}`)
      }),
      new Conflict('A user with this email already exists', { field: 'email' })
    )
    t.same(steps, ['admit taken=true'])
    t.equal(hashes.args().length, 0)
  })

  t.test('an admission that refuses stops the sign-up: nothing hashed, nothing stored', async (t) => {
    const hashes = t.capture(bcrypt, 'hash', bcrypt.hash)
    const refusal = new TooManyRequests('not now')
    await t.rejects(
      service.signUp({ name: 'C', email: 'carol@example.com', password: 'password123', profile: '' }, async () => {
        throw refusal
      }),
      refusal
    )
    t.equal(hashes.args().length, 0)
    t.equal(await userDao.emailTaken('carol@example.com'), false)
  })

  t.test('two sign-ups for one email at once: the unique index lets one through, the other is a Conflict', async (t) => {
    const admitted: boolean[] = []
    // Both have passed the lookup before either inserts: each hash waits for the other to start.
    let started = 0
    let bothStarted: () => void
    const together = new Promise<void>((resolve) => (bothStarted = resolve))
    t.capture(bcrypt, 'hash', async (...args: Parameters<typeof bcrypt.hash>) => {
      if (++started === 2) bothStarted()
      await together
      return hash(...args)
    })
    const signUp = () =>
      service.signUp({ name: 'D', email: 'dave@example.com', password: 'password123', profile: '' }, async (taken) => {
        admitted.push(taken)
      })
    const [first, second] = await Promise.allSettled([signUp(), signUp()])
    t.same([first.status, second.status].sort(), ['fulfilled', 'rejected'])
    t.type([first, second].find((result) => result.status === 'rejected')?.reason, Conflict)
    t.same(admitted, [false, false, true], 'the loser is counted as having met a taken email')
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
