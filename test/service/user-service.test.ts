import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import bcrypt from 'bcrypt'
import sharp from 'sharp'
import t, { type Test } from 'tap'
import { Transactor } from '../../model/database.ts'
import { MediaDao } from '../../model/media-dao.ts'
import { PendingObjectDao } from '../../model/pending-object-dao.ts'
import { DuplicateUser, UserDao } from '../../model/user-dao.ts'
import {
  Conflict,
  Forbidden,
  Invalid,
  NotFound,
  PayloadTooLarge,
  TooManyRequests,
  Unauthorized,
  Unavailable,
  UnsupportedMediaType
} from '../../service/errors.ts'
import { maxEmailLength, maxNameLength, maxProfileLength } from '../../service/limits.ts'
import { LocalStorage } from '../../service/storage/local.ts'
import { MediaService } from '../../service/media-service.ts'
import type { StoredObject } from '../../service/storage/storage.ts'
import { UserService, usernameFromEmail } from '../../service/user-service.ts'
import { localKeyOf, testPool, testPublicUrl, testUploadDir } from '../helper.ts'
import { pngBytes } from '../../scripts/support/uploads.ts'
import { gpsDatum, largeImage, photoWithGps } from '../media-fixtures.ts'

/** Local storage that can fail deletes, or run something while a file is being written, for real. */
class HookedStorage extends LocalStorage {
  failDeletes = false
  duringPut: ((key: string) => Promise<void>) | undefined
  override async put(key: string, body: Readable, contentType: string): Promise<StoredObject> {
    await this.duringPut?.(key)
    return super.put(key, body, contentType)
  }
  override async delete(key: string): Promise<void> {
    if (this.failDeletes) throw new Error('object store unreachable')
    return super.delete(key)
  }
}

t.test('UserService', async (t) => {
  const pool = await testPool(t)
  const uploadDir = await testUploadDir(t)
  const userDao = new UserDao(pool)
  const transactor = new Transactor(pool)
  const pendingObjects = new PendingObjectDao(pool)
  const storage = new HookedStorage(uploadDir, testPublicUrl)
  const signed: { user_id: number; ver: number }[] = []
  const tokens = {
    sign: (payload: { user_id: number; ver: number }) => (signed.push(payload), `token-for-${payload.user_id}`)
  }
  const warnings: { details: object; message: string }[] = []
  const log = {
    info() {},
    error() {},
    warn: (details: object, message: string) => void warnings.push({ details, message })
  }
  const service = new UserService(
    transactor,
    userDao,
    pendingObjects,
    storage,
    tokens,
    { bcryptRounds: 4, maxUploadBytes: 1024, maxImagePixels: 1_000_000, accountGraceDays: 0 },
    log
  )
  // The real function, for replacements of bcrypt.hash to call.
  const hash = bcrypt.hash.bind(bcrypt)
  const alice = await service.signUp({
    name: 'Alice',
    email: 'alice@example.com',
    password: 'password123',
    profile: ''
  })

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

  t.test(
    'two sign-ups for one email at once: the unique index lets one through, the other is a Conflict',
    async (t) => {
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
        service.signUp(
          { name: 'D', email: 'dave@example.com', password: 'password123', profile: '' },
          async (taken) => {
            admitted.push(taken)
          }
        )
      const [first, second] = await Promise.allSettled([signUp(), signUp()])
      t.same([first.status, second.status].sort(), ['fulfilled', 'rejected'])
      t.type([first, second].find((result) => result.status === 'rejected')?.reason, Conflict)
      t.same(admitted, [false, false, true], 'the loser is counted as having met a taken email')
    }
  )

  t.test('signUp refuses what the users table cannot hold, before any lookup or hash', async (t) => {
    const hashes = t.capture(bcrypt, 'hash', bcrypt.hash)
    const valid = { name: 'Erin', email: 'erin@example.com', password: 'password123', profile: '' }
    const name = new Invalid(`A name must be 1 to ${maxNameLength} characters`, { field: 'name' })
    const profile = new Invalid(`A profile must be at most ${maxProfileLength} characters`, { field: 'profile' })
    const email = new Invalid(`An email address must be at most ${maxEmailLength} characters`, { field: 'email' })
    const password = new Invalid('A password must be 8–72 bytes in UTF-8', { field: 'password' })
    const username = new Invalid('A username must be 3 to 30 characters of letters (A–Z, a–z), digits and _', {
      field: 'username'
    })
    const refusals: [object, Invalid][] = [
      [{ name: ' ' }, name],
      [{ name: 'n'.repeat(maxNameLength + 1) }, name],
      [{ name: ` ${'n'.repeat(maxNameLength)}` }, name],
      [{ profile: 'p'.repeat(maxProfileLength + 1) }, profile],
      [{ email: `${'e'.repeat(maxEmailLength)}@example.com` }, email],
      [{ password: 'seven77' }, password],
      [{ password: '가'.repeat(25) }, password],
      [{ username: 'ab' }, username],
      [{ username: 'u'.repeat(31) }, username],
      [{ username: 'two words' }, username],
      [{ username: 'ünïcode' }, username],
      [{ username: '' }, username]
    ]
    for (const [change, refusal] of refusals) {
      await t.rejects(service.signUp({ ...valid, ...change }), refusal, JSON.stringify(change).slice(0, 40))
    }
    t.equal(hashes.args().length, 0, 'nothing hashed')
    t.equal(await userDao.emailTaken('erin@example.com'), false, 'nothing stored')
    const longest = {
      name: 'n'.repeat(maxNameLength),
      profile: 'p'.repeat(maxProfileLength),
      email: `${'e'.repeat(maxEmailLength - '@example.com'.length)}@example.com`,
      password: '가'.repeat(24)
    }
    t.match(
      await service.signUp({ ...valid, ...longest }),
      { name: longest.name, email: longest.email },
      'the limits themselves are fine'
    )
    t.ok(await service.login(longest.email, longest.password), '72 bytes of UTF-8 are a password')
  })

  t.test('usernameFromEmail: the local part, other characters made _, cut to 30, padded to 3', async (t) => {
    t.equal(usernameFromEmail('eunwoo@example.com'), 'eunwoo')
    t.equal(usernameFromEmail('Eun.Woo@example.com'), 'Eun_Woo', 'the case is kept')
    t.equal(usernameFromEmail('a+b.c@example.com'), 'a_b_c')
    t.equal(usernameFromEmail('a.-+b@example.com'), 'a_b', 'a run of other characters is one _')
    t.equal(usernameFromEmail('b@example.com'), 'b__')
    t.equal(usernameFromEmail('+-.+@example.com'), '___')
    t.equal(usernameFromEmail('송은우😀@example.com'), '___')
    t.equal(usernameFromEmail(`${'x'.repeat(40)}@example.com`), 'x'.repeat(30))
    t.equal(usernameFromEmail('"a@b"@example.com'), '_a_b_', 'the local part ends at the last @')
    t.equal(usernameFromEmail('no-at-sign'), 'no_at_sign')
    t.equal(usernameFromEmail('@example.com'), '___', 'an empty local part is padded')
  })

  t.test('signUp without a username generates one from the email, kept as the email spells it', async (t) => {
    t.equal(alice.username, 'alice')
    const user = await service.signUp({
      name: 'G',
      email: 'Gen.Erated@example.com',
      password: 'password123',
      profile: ''
    })
    t.equal(user.username, 'Gen_Erated')
    t.match(await service.profile(user.id, false), { username: 'Gen_Erated' })
  })

  t.test('a generated username already taken, in any case, gets the first free numbered suffix', async (t) => {
    const signUp = (email: string) => service.signUp({ name: 'S', email, password: 'password123', profile: '' })
    t.equal((await signUp('suffix@a.example')).username, 'suffix')
    t.equal((await signUp('SUFFIX@b.example')).username, 'SUFFIX_2')
    t.equal((await signUp('suffix@c.example')).username, 'suffix_3')
    for (let n = 4; n <= 9; n++) t.equal((await signUp(`suffix@${n}.example`)).username, `suffix_${n}`)
    t.match((await signUp('suffix@d.example')).username, /^suffix_\d{6}$/, 'then a random one')
    const long = `${'y'.repeat(30)}@example.com`
    t.equal((await signUp(long)).username, 'y'.repeat(30))
    t.equal((await signUp(`Y${long}`)).username, `Y${'y'.repeat(27)}_2`, 'cut so the suffix fits in 30')
  })

  t.test('signUp keeps a chosen username as chosen', async (t) => {
    const user = await service.signUp({
      name: 'Chooser',
      email: 'chooser@example.com',
      password: 'password123',
      profile: '',
      username: 'The_Chooser_1'
    })
    t.match(user, { username: 'The_Chooser_1', email: 'chooser@example.com' })
  })

  t.test('a chosen username taken in any case is a Conflict naming the username, before any hash', async (t) => {
    const steps: string[] = []
    const hashes = t.capture(bcrypt, 'hash', bcrypt.hash)
    await t.rejects(
      service.signUp(
        { name: 'C', email: 'copycat@example.com', password: 'password123', profile: '', username: 'the_CHOOSER_1' },
        async (taken) => void steps.push(`admit taken=${taken}`)
      ),
      new Conflict('A user with this username already exists', { field: 'username' })
    )
    t.same(steps, ['admit taken=false'], 'the admission heard of the free email first')
    t.equal(hashes.args().length, 0)
    t.equal(await userDao.emailTaken('copycat@example.com'), false)
  })

  t.test('a taken email is answered as such, whatever the username', async (t) => {
    await t.rejects(
      service.signUp({
        name: 'A',
        email: 'alice@example.com',
        password: 'password123',
        profile: '',
        username: 'fresh'
      }),
      new Conflict('A user with this email already exists', { field: 'email' })
    )
  })

  /**
   * Holds the answers of the first two username lookups until both are read, so that two sign-ups both
   * know a username free before either inserts it.
   */
  const lookupsTogether = (t: Test) => {
    const lookup = userDao.usersByUsernames.bind(userDao)
    let answered = 0
    let release: () => void
    const both = new Promise<void>((resolve) => (release = resolve))
    return t.capture(userDao, 'usersByUsernames', async (usernames: readonly string[]) => {
      const taken = await lookup(usernames)
      answered += 1
      if (answered === 2) release()
      if (answered <= 2) await both
      return taken
    })
  }

  t.test('"Eunwoo" and "eunwoo" chosen at once: exactly one sign-up wins, the other is a Conflict', async (t) => {
    // Both pass the lookup before either inserts: the unique key decides.
    const lookups = lookupsTogether(t)
    const signUp = (username: string, email: string) =>
      service.signUp({ name: username, email, password: 'password123', profile: '', username })
    const results = await Promise.allSettled([
      signUp('Eunwoo', 'eunwoo1@example.com'),
      signUp('eunwoo', 'eunwoo2@example.com')
    ])
    t.equal(lookups.args().length, 2)
    t.same(results.map((result) => result.status).sort(), ['fulfilled', 'rejected'])
    const lost = results.find((result) => result.status === 'rejected')
    t.same(lost?.reason, new Conflict('A user with this username already exists', { field: 'username' }))
    const won = results.find((result) => result.status === 'fulfilled')
    t.match(await service.profileByUsername('EUNWOO'), { id: won?.value.id, username: won?.value.username })
  })

  t.test('two sign-ups generating the same username at once both succeed, with different ones', async (t) => {
    const lookups = lookupsTogether(t)
    const signUp = (email: string) => service.signUp({ name: 'Twin', email, password: 'password123', profile: '' })
    const [first, second] = await Promise.all([signUp('twin@a.example'), signUp('twin@b.example')])
    t.same([first.username, second.username].sort(), ['twin', 'twin_2'])
    t.equal(lookups.args().length, 3, 'the loser looked again, and found its first choice taken')
  })

  t.test('a generated username lost to concurrent sign-ups five times over is a 503, never a 500', async (t) => {
    const inserts = t.capture(userDao, 'insertUser', async () => {
      throw new DuplicateUser('username')
    })
    await t.rejects(
      service.signUp({ name: 'Unlucky', email: 'unlucky@example.com', password: 'password123', profile: '' }),
      new Unavailable('No free username was found for this email; try again, or choose a username')
    )
    t.equal(inserts.args().length, 5)
  })

  t.test('an insert failing otherwise fails the sign-up with that error', async (t) => {
    const failure = new Error('connection lost')
    t.capture(userDao, 'insertUser', async () => {
      throw failure
    })
    await t.rejects(
      service.signUp({ name: 'F', email: 'failing@example.com', password: 'password123', profile: '' }),
      failure
    )
  })

  t.test('profileByUsername finds a profile whatever the case, never with the email', async (t) => {
    for (const asked of ['alice', 'ALICE', 'aLiCe']) {
      const profile = await service.profileByUsername(asked)
      t.same(profile, await service.profile(alice.id, false))
    }
    t.notOk('email' in (await service.profileByUsername('alice')))
    await t.rejects(service.profileByUsername('nobody'), new NotFound('User not found', { username: 'nobody' }))
    // The column's collation pads spaces and folds full-width letters: neither is a username.
    await t.rejects(service.profileByUsername('alice '), NotFound)
    await t.rejects(service.profileByUsername('ａｌｉｃｅ'), NotFound)
  })

  t.test(
    'updateProfile changes the username; another user’s in any case is a Conflict; your own case is yours',
    async (t) => {
      const user = await service.signUp({
        name: 'R',
        email: 'renamer@example.com',
        password: 'password123',
        profile: ''
      })
      t.match(await service.updateProfile(user.id, { username: 'Renamed' }), { username: 'Renamed', name: 'R' })
      t.match(await service.updateProfile(user.id, { username: 'RENAMED', name: 'R2' }), {
        username: 'RENAMED',
        name: 'R2'
      })
      await t.rejects(
        service.updateProfile(user.id, { username: 'Alice' }),
        new Conflict('A user with this username already exists', { field: 'username' })
      )
      await t.rejects(
        service.updateProfile(user.id, { username: 'no' }),
        new Invalid('A username must be 3 to 30 characters of letters (A–Z, a–z), digits and _', { field: 'username' })
      )
      t.match(await service.profile(user.id, true), { username: 'RENAMED', name: 'R2' }, 'refusals change nothing')
      t.match(await service.profile(alice.id, false), { username: 'alice' })
      await t.rejects(
        service.updateProfile(999999, { username: 'ghost' }),
        new NotFound('User not found', { user_id: 999999 })
      )
    }
  )

  t.test('a profile change failing otherwise fails with that error', async (t) => {
    const failure = new Error('connection lost')
    t.capture(userDao, 'updateProfile', async () => {
      throw failure
    })
    await t.rejects(service.updateProfile(alice.id, { username: 'whatever' }), failure)
  })

  t.test('login signs a token for the right password only', async (t) => {
    t.same(await service.login('alice@example.com', 'password123'), {
      user_id: alice.id,
      access_token: `token-for-${alice.id}`
    })
    t.same(signed.at(-1), { user_id: alice.id, ver: 0 }, 'the account’s token version goes into the token')
    // One answer for both: it must not tell which emails have an account.
    const refused = new Unauthorized('Invalid email or password')
    await t.rejects(service.login('alice@example.com', 'wrong-password'), refused)
    await t.rejects(service.login('nobody@example.com', 'password123'), refused)
  })

  t.test('sessions: a token is valid until logged out by its id, or its version is left behind', async (t) => {
    const session = await service.signUp({
      name: 'S',
      email: 'session@example.com',
      password: 'password123',
      profile: ''
    })
    t.equal(await service.tokenStatus(session.id, 0, 'token-one'), 'valid')
    t.equal(await service.tokenStatus(session.id, 0, undefined), 'valid', 'a token from before sessions')
    t.equal(await service.tokenStatus(999_999, 0, 'token-one'), 'gone')
    await service.logout(session.id, 'token-one', new Date(Date.now() + 60_000))
    await service.logout(session.id, 'token-one', new Date(Date.now() + 60_000))
    t.equal(await service.tokenStatus(session.id, 0, 'token-one'), 'revoked', 'logged out, twice is once')
    t.equal(await service.tokenStatus(session.id, 0, 'token-two'), 'valid', 'another token of the account')
    await service.logoutAll(session.id)
    t.equal(await service.tokenStatus(session.id, 0, 'token-two'), 'revoked', 'every token issued before')
    t.equal(await service.tokenStatus(session.id, 1, 'token-three'), 'valid', 'one issued after')
    await service.login('session@example.com', 'password123')
    t.same(signed.at(-1), { user_id: session.id, ver: 1 }, 'a login signs the current version')
    await service.logout(session.id, undefined, new Date(Date.now() + 60_000))
    t.equal(
      await service.tokenStatus(session.id, 1, 'token-three'),
      'revoked',
      'logging out a token without an id revokes them all'
    )
  })

  t.test('changePassword: the current password, a valid new one; every earlier token revoked', async (t) => {
    const changer = await service.signUp({
      name: 'C',
      email: 'changer@example.com',
      password: 'old password',
      profile: ''
    })
    await t.rejects(
      service.changePassword(changer.id, 'wrong password', 'new password'),
      new Forbidden('The current password is wrong', { field: 'current_password' })
    )
    await t.rejects(
      service.changePassword(changer.id, 'old password', 'short'),
      new Invalid('A password must be 8–72 bytes in UTF-8', { field: 'new_password' })
    )
    t.equal(await service.tokenStatus(changer.id, 0, 'before'), 'valid', 'refused changes revoke nothing')
    t.same(await service.changePassword(changer.id, 'old password', 'new password'), {
      user_id: changer.id,
      access_token: `token-for-${changer.id}`
    })
    t.same(signed.at(-1), { user_id: changer.id, ver: 1 }, 'the new token carries the new version')
    t.equal(await service.tokenStatus(changer.id, 0, 'before'), 'revoked')
    await t.rejects(service.login('changer@example.com', 'old password'), Unauthorized)
    t.match(await service.login('changer@example.com', 'new password'), { user_id: changer.id })
    await t.rejects(service.changePassword(999_999, 'x', 'new password'), Unauthorized)
  })

  t.test('profile shows the email only to the user themself; updateProfile changes given fields', async (t) => {
    const other = await service.profile(alice.id, false)
    t.notOk('email' in other)
    t.match(other, { id: alice.id, name: 'Alice', followers_count: 0, following_count: 0, tweets_count: 0 })
    t.match(await service.profile(alice.id, true), { email: 'alice@example.com' })
    t.match(await service.updateProfile(alice.id, { profile: 'new text' }), { name: 'Alice', profile: 'new text' })
    t.match(await service.updateProfile(alice.id, { name: 'Alicia' }), { name: 'Alicia', profile: 'new text' })
    await t.rejects(
      service.updateProfile(alice.id, { name: '  ' }),
      new Invalid(`A name must be 1 to ${maxNameLength} characters`, { field: 'name' })
    )
    await t.rejects(
      service.updateProfile(alice.id, { profile: 'p'.repeat(maxProfileLength + 1) }),
      new Invalid(`A profile must be at most ${maxProfileLength} characters`, { field: 'profile' })
    )
    t.match(await service.profile(alice.id, true), { name: 'Alicia', profile: 'new text' }, 'refusals change nothing')
    await t.rejects(service.profile(999999, false), new NotFound('User not found', { user_id: 999999 }))
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

  t.test('profile pictures: sniffed, size-capped, replaced', async (t) => {
    const noPicture = new NotFound('This user has no profile picture', { user_id: alice.id })
    const unknownUser = new NotFound('User not found', { user_id: 999999 })
    await t.rejects(service.profilePictureUrl(alice.id), noPicture)
    await t.rejects(service.profilePictureUrl(999999), unknownUser)
    const first = await service.saveProfilePicture(alice.id, Readable.from([pngBytes]))
    t.match(localKeyOf(first), /^profile\/[0-9a-f-]+\.png$/, 'an absolute URL under the storage base')
    t.equal(await service.profilePictureUrl(alice.id), first)
    const second = await service.saveProfilePicture(alice.id, Readable.from([pngBytes]))
    t.not(second, first)
    t.same(await readdir(`${uploadDir}/profile`), [second.split('/').at(-1)])
    await t.rejects(
      service.saveProfilePicture(alice.id, Readable.from([Buffer.from('just some text here')])),
      UnsupportedMediaType
    )
    await t.rejects(
      service.saveProfilePicture(alice.id, Readable.from([pngBytes, Buffer.alloc(2048)])),
      PayloadTooLarge
    )
    t.same(await readdir(`${uploadDir}/profile`), [second.split('/').at(-1)], 'failed uploads leave no file')
    await t.rejects(service.saveProfilePicture(999999, Readable.from([pngBytes])), unknownUser)
    t.same(await readdir(`${uploadDir}/profile`), [second.split('/').at(-1)], 'an unknown user leaves no file')
    await service.deleteProfilePicture(alice.id)
    t.same(await readdir(`${uploadDir}/profile`), [], 'deleting removes the file')
    await t.rejects(service.profilePictureUrl(alice.id), noPicture)
    await t.rejects(
      service.deleteProfilePicture(alice.id),
      new NotFound('You have no profile picture', { user_id: alice.id })
    )
  })

  t.test('profile pictures: stripped of their metadata, upright', async (t) => {
    const bob = await service.signUp({
      name: 'Bob',
      email: 'bob.pictures@example.com',
      password: 'password123',
      profile: ''
    })
    const pictures = new UserService(
      transactor,
      userDao,
      pendingObjects,
      storage,
      tokens,
      {
        bcryptRounds: 4,
        maxUploadBytes: 100_000,
        maxImagePixels: 1_000_000,
        accountGraceDays: 0
      },
      log
    )
    const url = await pictures.saveProfilePicture(bob.id, Readable.from([photoWithGps]))
    t.match(url, /\.jpg$/)
    const file = await readFile(join(uploadDir, localKeyOf(url)))
    const metadata = await sharp(file).metadata()
    t.equal(metadata.exif, undefined)
    t.same([metadata.width, metadata.height], [4, 8])
    t.notOk(file.includes(gpsDatum))
    await t.rejects(
      pictures.saveProfilePicture(bob.id, Readable.from([largeImage])),
      PayloadTooLarge,
      'a decompression bomb'
    )
    await pictures.deleteProfilePicture(bob.id)
  })

  t.test('profile pictures follow the pending protocol', async (t) => {
    const carol = await service.signUp({
      name: 'Carol',
      email: 'carol.pictures@example.com',
      password: 'password123',
      profile: ''
    })
    const media = new MediaService(transactor, new MediaDao(pool), pendingObjects, storage, {
      maxMediaBytes: 1024,
      graceDays: 0,
      maxImagePixels: 1_000_000
    })
    const farFuture = new Date(Date.now() + 7 * 86_400_000)
    const recorded = () => pendingObjects.due(farFuture, '', 100)
    const exists = (url: string) => existsSync(join(uploadDir, localKeyOf(url)))
    t.teardown(() => {
      storage.failDeletes = false
      storage.duringPut = undefined
    })

    t.test('the file is recorded before it is written, and the record goes with the switch', async (t) => {
      const seen: string[][] = []
      storage.duringPut = async (key) => void seen.push([key, ...(await recorded())])
      const url = await service.saveProfilePicture(carol.id, Readable.from([pngBytes]))
      storage.duringPut = undefined
      t.equal(seen.length, 1)
      t.ok(url.endsWith(seen[0][0]), 'the key written')
      t.ok(seen[0].slice(1).includes(seen[0][0]), 'was recorded while it was written')
      t.same(await recorded(), [])
    })

    t.test('a failed removal of the old file is logged, never an error, and purge finishes it', async (t) => {
      const old = await service.profilePictureUrl(carol.id)
      storage.failDeletes = true
      const url = await service.saveProfilePicture(carol.id, Readable.from([pngBytes]))
      storage.failDeletes = false
      t.equal(await service.profilePictureUrl(carol.id), url, 'the change stands')
      t.ok(exists(old), 'the old file is still there')
      t.match(warnings.at(-1), { details: { storage_key: localKeyOf(old) }, message: /purge/ })
      t.same(await recorded(), [localKeyOf(old)], 'recorded for purge')
      t.match(await media.purge(), { objects: 1, failed: [] })
      t.notOk(exists(old))
      t.ok(exists(url))
    })

    t.test('deleting the picture when the store fails still succeeds, and purge removes the file', async (t) => {
      const url = await service.profilePictureUrl(carol.id)
      storage.failDeletes = true
      await service.deleteProfilePicture(carol.id)
      storage.failDeletes = false
      await t.rejects(service.profilePictureUrl(carol.id), NotFound)
      t.ok(exists(url))
      t.match(await media.purge(), { objects: 1, failed: [] })
      t.notOk(exists(url))
    })

    t.test(
      'when the switch fails because the account was deleted meanwhile, the stored file and its record go',
      async (t) => {
        const dave = await service.signUp({
          name: 'Dave',
          email: 'dave.pictures@example.com',
          password: 'password123',
          profile: ''
        })
        const written: string[] = []
        storage.duringPut = async (key) => {
          written.push(key)
          await pool.query('DELETE FROM users WHERE id = ?', [dave.id])
        }
        await t.rejects(service.saveProfilePicture(dave.id, Readable.from([pngBytes])), NotFound)
        storage.duringPut = undefined
        t.equal(written.length, 1, 'the file was written before the switch failed')
        t.notOk(existsSync(join(uploadDir, written[0])), 'the file is gone')
        t.same(await recorded(), [], 'and so is its record')
      }
    )

    t.test('when that clean-up fails too, the record stays and purge removes the file', async (t) => {
      const erin = await service.signUp({
        name: 'Erin',
        email: 'erin.pictures@example.com',
        password: 'password123',
        profile: ''
      })
      const written: string[] = []
      storage.duringPut = async (key) => {
        written.push(key)
        await pool.query('DELETE FROM users WHERE id = ?', [erin.id])
        storage.failDeletes = true
      }
      await t.rejects(service.saveProfilePicture(erin.id, Readable.from([pngBytes])), NotFound)
      storage.duringPut = undefined
      storage.failDeletes = false
      t.equal(written.length, 1)
      t.ok(existsSync(join(uploadDir, written[0])), 'the file could not be removed')
      t.match(warnings.at(-1), { details: { storage_key: written[0] }, message: /purge/ })
      t.same(await recorded(), [written[0]], 'its record stays for purge')
      // Not due before the upload's bound (a day): an upload that slow may still be running.
      t.match(await media.purge(), { objects: 0, failed: [] })
      const dayLater = new MediaService(transactor, new MediaDao(pool), pendingObjects, storage, {
        maxMediaBytes: 1024,
        graceDays: 0,
        maxImagePixels: 1_000_000,
        clock: () => new Date(Date.now() + 86_400_000 + 60_000)
      })
      t.match(await dayLater.purge(), { objects: 1, failed: [] })
      t.notOk(existsSync(join(uploadDir, written[0])))
    })

    t.test('an upload whose record purge took meanwhile is refused and changes nothing', async (t) => {
      const url = await service.saveProfilePicture(carol.id, Readable.from([pngBytes]))
      storage.duringPut = async (key) => void (await pendingObjects.remove(pool, key))
      await t.rejects(
        service.saveProfilePicture(carol.id, Readable.from([pngBytes])),
        new Unavailable('The upload took too long and was discarded; please try again')
      )
      storage.duringPut = undefined
      t.equal(await service.profilePictureUrl(carol.id), url)
      t.same(
        (await readdir(join(uploadDir, 'profile'))).filter((name) => !url.endsWith(name)).length,
        0,
        'the new file is gone'
      )
    })
  })
})
