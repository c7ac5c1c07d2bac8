// Accounts: sign-up and login (bcrypt, tokens), profiles, and profile pictures through the storage.
import { randomInt, randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import bcrypt from 'bcrypt'
import type { Transactor } from '../model/database.ts'
import type { PendingObjectDao } from '../model/pending-object-dao.ts'
import { DuplicateUser, type ProfileRow, type UserDao, type UserRow } from '../model/user-dao.ts'
import { Conflict, Forbidden, Invalid, NotFound, Unauthorized, Unavailable } from './errors.ts'
import type { WorkerLog } from './fanout-worker.ts'
import { stripImageMetadata } from './image.ts'
import {
  isPasswordLength,
  isUsername,
  maxEmailLength,
  maxNameLength,
  maxPasswordBytes,
  maxProfileLength,
  maxUsernameLength,
  minPasswordBytes,
  minUsernameLength
} from './limits.ts'
import type { Storage } from './storage/storage.ts'
import { imageTypes, sniff } from './sniff.ts'

export type { UserRow }

export interface Profile {
  id: number
  name: string
  username: string
  email?: string
  profile: string
  profile_picture: string | null
  created_at: Date
  followers_count: number
  following_count: number
  tweets_count: number
}

export interface TokenSigner {
  /** A new token for the account, carrying its current token version; the signer adds the token's own id. */
  sign(payload: { user_id: number; ver: number }): string
}

/** Starts erasing the deleted accounts that are due (service/account-eraser.ts), in the background. */
export interface ErasureWaker {
  wake(): void
}

/** What a token's signature cannot tell: whether its account still exists, and whether it was revoked. */
export type TokenStatus = 'valid' | 'revoked' | 'gone'

export interface UserSettings {
  bcryptRounds: number
  /** 0: a deleted account is erased at once; otherwise logging in within this many days restores it. */
  accountGraceDays: number
  maxUploadBytes: number
  /** Pictures with more pixels are refused before they are decoded. */
  maxImagePixels: number
}

// A picture upload still recorded as pending after this is one whose process died: purge removes it.
const pendingPictureMs = 24 * 60 * 60 * 1000

export interface SignUp {
  name: string
  email: string
  password: string
  profile: string
  /** The account's username; without one, sign-up generates it from the email (usernameFromEmail). */
  username?: string
}

export interface ProfileChanges {
  name?: string
  profile?: string
  username?: string
}

/**
 * Told whether the email is taken before a taken email is answered or a password is hashed; it may throw to
 * refuse the sign-up either way (the view's per-address budget for answers that an email is taken).
 */
export type SignUpAdmission = (emailTaken: boolean) => Promise<void>

const admitAll: SignUpAdmission = async () => {}

/**
 * The username an account gets when it names none: the email's local part (before its last '@') with
 * every run of characters outside [A-Za-z0-9_] made one '_', cut to maxUsernameLength and padded with
 * '_' to minUsernameLength ('a+b.c' → 'a_b_c', 'b' → 'b__'). migrations/010 gave existing users theirs
 * by the same rule.
 */
export function usernameFromEmail(email: string): string {
  const at = email.lastIndexOf('@')
  const local = at < 0 ? email : email.slice(0, at)
  return local
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .slice(0, maxUsernameLength)
    .padEnd(minUsernameLength, '_')
}

/** `base` with `_<suffix>`, cut so that the whole stays within maxUsernameLength. */
function withSuffix(base: string, suffix: number): string {
  const tail = `_${suffix}`
  return base.slice(0, maxUsernameLength - tail.length) + tail
}

/** Suffixes looked up with a generated username's plain form, in the same statement: _2 to _9. */
const numberedSuffixes = Array.from({ length: 8 }, (_, i) => i + 2)

/**
 * Inserts of a generated username, each lost only to a concurrent sign-up that took the same one just
 * before (it is then looked up as taken, and the next one is generated).
 */
const generatedUsernameAttempts = 5

const usernameRule = `A username must be ${minUsernameLength} to ${maxUsernameLength} characters of letters (A–Z, a–z), digits and _`

/**
 * Refuses a name, profile text or username the users table cannot hold (a name needs one character other
 * than white space, and is measured as stored: white space around it counts).
 */
function checkProfileFields({ name, profile, username }: ProfileChanges): void {
  if (name !== undefined && (name.trim().length === 0 || name.length > maxNameLength)) {
    throw new Invalid(`A name must be 1 to ${maxNameLength} characters`, { field: 'name' })
  }
  if (profile !== undefined && profile.length > maxProfileLength) {
    throw new Invalid(`A profile must be at most ${maxProfileLength} characters`, { field: 'profile' })
  }
  if (username !== undefined && !isUsername(username)) {
    throw new Invalid(usernameRule, { field: 'username' })
  }
}

function usernameTaken(): Conflict {
  return new Conflict('A user with this username already exists', { field: 'username' })
}

function checkSignUp(input: SignUp): void {
  checkProfileFields(input)
  if (input.email.length > maxEmailLength) {
    throw new Invalid(`An email address must be at most ${maxEmailLength} characters`, { field: 'email' })
  }
  checkPassword(input.password, 'password')
}

function checkPassword(password: string, field: string): void {
  if (!isPasswordLength(password)) {
    throw new Invalid(`A password must be ${minPasswordBytes}–${maxPasswordBytes} bytes in UTF-8`, { field })
  }
}

export class UserService {
  // Compared against when the email is unknown, so both failures cost one bcrypt compare.
  private readonly dummyHash: Promise<string>

  constructor(
    private readonly transactor: Transactor,
    private readonly userDao: UserDao,
    private readonly pendingObjectDao: PendingObjectDao,
    private readonly storage: Storage,
    private readonly tokens: TokenSigner,
    private readonly settings: UserSettings,
    private readonly log: WorkerLog,
    private readonly erasure: ErasureWaker = { wake: () => {} }
  ) {
    this.dummyHash = bcrypt.hash(randomUUID(), settings.bcryptRounds)
  }

  /**
   * A taken email, or a taken username the caller chose, is refused before hashing, since the hash is the
   * expensive part of a sign-up. Without a username one is generated from the email and made unique; the
   * unique keys settle sign-ups racing for one email or one username.
   */
  async signUp(input: SignUp, admit: SignUpAdmission = admitAll): Promise<UserRow> {
    checkSignUp(input)
    if (await this.userDao.emailTaken(input.email)) return this.refuseTaken(admit)
    // Told before the username is answered: a taken username says the email is free.
    await admit(false)
    const chosen = input.username
    if (chosen !== undefined && (await this.userDao.usersByUsernames([chosen])).length > 0) throw usernameTaken()
    const hashedPassword = await bcrypt.hash(input.password, this.settings.bcryptRounds)
    const { name, email, profile } = input
    for (let attempt = 1; ; attempt++) {
      const username = chosen ?? (await this.freeUsername(email))
      try {
        const id = await this.userDao.insertUser({ name, email, profile, username, hashedPassword })
        return (await this.userDao.userById(id))!
      } catch (error) {
        if (!(error instanceof DuplicateUser)) throw error
        // Two sign-ups for one email at once both pass the lookup: the unique index decides.
        if (error.field === 'email') return this.refuseTaken(admit)
        if (chosen !== undefined) throw usernameTaken()
        // A concurrent sign-up has just taken the generated one: the next lookup sees it taken.
        if (attempt === generatedUsernameAttempts) {
          throw new Unavailable('No free username was found for this email; try again, or choose a username')
        }
      }
    }
  }

  /**
   * The email's username (usernameFromEmail) if nobody has it, else the first free of it with _2 to _9
   * (one lookup for all), else it with a random six-digit suffix, which the unique key checks.
   */
  private async freeUsername(email: string): Promise<string> {
    const base = usernameFromEmail(email)
    const candidates = [base, ...numberedSuffixes.map((n) => withSuffix(base, n))]
    const taken = new Set((await this.userDao.usersByUsernames(candidates)).map((user) => user.username.toLowerCase()))
    return (
      candidates.find((candidate) => !taken.has(candidate.toLowerCase())) ??
      withSuffix(base, randomInt(100_000, 1_000_000))
    )
  }

  private async refuseTaken(admit: SignUpAdmission): Promise<never> {
    await admit(true)
    throw new Conflict('A user with this email already exists', { field: 'email' })
  }

  /**
   * Returns the user id and a signed token; the same error for an unknown email and a wrong password. A
   * deleted account within its grace period is restored by logging in; once due for erasure it is unknown.
   */
  async login(email: string, password: string): Promise<{ user_id: number; access_token: string }> {
    const credentials = await this.userDao.credentialsByEmail(email)
    const matches = await bcrypt.compare(password, credentials?.hashed_password ?? (await this.dummyHash))
    if (!credentials || !matches) throw new Unauthorized('Invalid email or password')
    if (credentials.deactivated) {
      if (!credentials.restorable || !(await this.userDao.restore(credentials.id))) {
        throw new Unauthorized('Invalid email or password')
      }
      this.log.info({ user_id: credentials.id }, 'deleted account restored by logging in')
    }
    return {
      user_id: credentials.id,
      access_token: this.tokens.sign({ user_id: credentials.id, ver: credentials.token_version })
    }
  }

  /**
   * Checks a correctly signed token against its account: gone (deleted), revoked (issued before the
   * account's current token version, or logged out by its id), or valid. One primary-key lookup. A token
   * from before revocable sessions carries neither: it has version 0 and no id.
   */
  async tokenStatus(userId: number, version: number, tokenId: string | undefined): Promise<TokenStatus> {
    const state = await this.userDao.tokenState(userId, tokenId ?? '')
    if (!state) return 'gone'
    return state.token_version === version && !state.revoked ? 'valid' : 'revoked'
  }

  /**
   * Revokes the token with this id until its own expiry. A token without an id (issued before revocable
   * sessions) cannot be told from its siblings: every token of the account is revoked then.
   */
  async logout(userId: number, tokenId: string | undefined, expiresAt: Date): Promise<void> {
    if (tokenId === undefined) return this.logoutAll(userId)
    await this.userDao.revokeToken(tokenId, userId, expiresAt)
  }

  /** Revokes every token the account has been given, on every instance at once. */
  async logoutAll(userId: number): Promise<void> {
    await this.userDao.newTokenVersion(this.transactor.autocommit, userId)
  }

  /**
   * Changes the password when `current` is right (else Forbidden naming current_password); every token
   * issued before stops working, and the answer carries a new one.
   */
  async changePassword(
    userId: number,
    current: string,
    next: string
  ): Promise<{ user_id: number; access_token: string }> {
    checkPassword(next, 'new_password')
    const credentials = await this.userDao.credentialsById(userId)
    if (!credentials) throw new Unauthorized('The account of this token no longer exists')
    if (!(await bcrypt.compare(current, credentials.hashed_password))) {
      throw new Forbidden('The current password is wrong', { field: 'current_password' })
    }
    const hashed = await bcrypt.hash(next, this.settings.bcryptRounds)
    const version = await this.userDao.newTokenVersion(this.transactor.autocommit, userId, hashed)
    if (version === undefined) throw new Unauthorized('The account of this token no longer exists')
    return { user_id: userId, access_token: this.tokens.sign({ user_id: userId, ver: version }) }
  }

  /**
   * Deletes the account when `password` is right (else Forbidden naming password): from now on it is gone
   * for everyone and its tokens stop working. Its rows are erased at once in the background, or once
   * accountGraceDays have passed (logging in before then restores it).
   */
  async deleteAccount(userId: number, password: string): Promise<void> {
    const credentials = await this.userDao.credentialsById(userId)
    if (!credentials) throw new Unauthorized('The account of this token no longer exists')
    if (!(await bcrypt.compare(password, credentials.hashed_password))) {
      throw new Forbidden('The password is wrong', { field: 'password' })
    }
    const graceSeconds = Math.round(this.settings.accountGraceDays * 86_400)
    if (!(await this.userDao.deactivate(this.transactor.autocommit, userId, graceSeconds))) {
      throw new Unauthorized('The account of this token no longer exists')
    }
    if (graceSeconds === 0) this.erasure.wake()
  }

  /** A public profile with counters; the email only when `self` (the user asking about themself). */
  async profile(id: number, self: boolean): Promise<Profile> {
    const row = await this.userDao.profileById(id, self)
    if (!row) throw new NotFound('User not found', { user_id: id })
    return this.toProfile(row, self)
  }

  /** The public profile of the user with this username, whatever its case. */
  async profileByUsername(username: string): Promise<Profile> {
    const row = isUsername(username) ? await this.userDao.profileByUsername(username) : undefined
    if (!row) throw new NotFound('User not found', { username })
    return this.toProfile(row, false)
  }

  private toProfile(row: ProfileRow, self: boolean): Profile {
    const { email, profile_picture, ...rest } = row
    return {
      ...rest,
      profile_picture: profile_picture === null ? null : this.storage.url(profile_picture),
      ...(self ? { email } : {})
    }
  }

  /** A username another user has (whatever its case) is a Conflict; your own in another case is a change. */
  async updateProfile(id: number, changes: ProfileChanges): Promise<Profile> {
    checkProfileFields(changes)
    let updated: boolean
    try {
      updated = await this.userDao.updateProfile(id, changes)
    } catch (error) {
      if (error instanceof DuplicateUser && error.field === 'username') throw usernameTaken()
      throw error
    }
    if (!updated) throw new NotFound('User not found', { user_id: id })
    return this.profile(id, true)
  }

  /**
   * Stores a new picture (stripped of its metadata) under a generated name, recorded as pending first,
   * then switches to it; the replaced file goes after the commit. A crash at any point leaves a record
   * that purge finds, never a file nobody knows about.
   */
  async saveProfilePicture(userId: number, body: Readable): Promise<string> {
    const upload = await sniff(body, imageTypes, this.settings.maxUploadBytes)
    const image = await stripImageMetadata(upload.stream, upload.mime, this.settings.maxImagePixels)
    const key = `profile/${randomUUID()}.${upload.ext}`
    await this.pendingObjectDao.insert(this.transactor.autocommit, key, new Date(Date.now() + pendingPictureMs))
    let previous: string | null
    try {
      await this.storage.put(key, Readable.from([image]), upload.mime)
      previous = await this.switchProfilePicture(userId, key)
    } catch (error) {
      await this.removeUnreferenced(key)
      throw error
    }
    if (previous) await this.removeUnreferenced(previous)
    return this.storage.url(key)
  }

  async profilePictureUrl(userId: number): Promise<string> {
    const key = await this.userDao.profilePicture(userId)
    if (key === undefined) throw new NotFound('User not found', { user_id: userId })
    if (key === null) throw new NotFound('This user has no profile picture', { user_id: userId })
    return this.storage.url(key)
  }

  /** Removes the picture, and its stored file after the commit. */
  async deleteProfilePicture(userId: number): Promise<void> {
    const previous = await this.switchProfilePicture(userId, null)
    if (!previous) throw new NotFound('You have no profile picture', { user_id: userId })
    await this.removeUnreferenced(previous)
  }

  /**
   * Points the user's picture at `key` (claiming its pending record) and records the file it replaces
   * for removal, in one transaction; returns that file's key.
   */
  private async switchProfilePicture(userId: number, key: string | null): Promise<string | null> {
    const previous = await this.transactor.run(async (connection) => {
      const replaced = await this.userDao.replaceProfilePicture(connection, userId, key)
      if (!replaced) throw new NotFound('User not found', { user_id: userId })
      if (key !== null && !(await this.pendingObjectDao.remove(connection, key))) {
        throw new Unavailable('The upload took too long and was discarded; please try again')
      }
      if (replaced.previous) await this.pendingObjectDao.insert(connection, replaced.previous, new Date(0))
      return replaced.previous
    })
    // After the commit: a timeline read before it would have cached the old picture again.
    this.userDao.forgetAuthor(userId)
    return previous
  }

  /** Removes a recorded file no user points at, then its record; on failure both stay for purge. */
  private async removeUnreferenced(key: string): Promise<void> {
    try {
      await this.storage.delete(key)
      await this.pendingObjectDao.remove(this.transactor.autocommit, key)
    } catch (err) {
      this.log.warn({ err, storage_key: key }, 'profile picture: file not removed, the next media purge will')
    }
  }
}
