import { randomUUID } from 'node:crypto'
import type { Readable } from 'node:stream'
import bcrypt from 'bcrypt'
import type { UserDao, UserRow } from '../model/user-dao.ts'
import { Conflict, NotFound, Unauthorized } from './errors.ts'
import type { Storage } from './storage.ts'
import { imageTypes, sniff } from './upload.ts'

export type { UserRow }

export interface Profile {
  id: number
  name: string
  email?: string
  profile: string
  profile_picture: string | null
  created_at: Date
  followers_count: number
  following_count: number
  tweets_count: number
}

export interface TokenSigner {
  sign(payload: { user_id: number }): string
}

export interface UserSettings {
  bcryptRounds: number
  maxUploadBytes: number
}

export interface SignUp {
  name: string
  email: string
  password: string
  profile: string
}

/**
 * Told whether the email is taken before a taken email is answered or a password is hashed; it may throw to
 * refuse the sign-up either way (the view's per-address budget for answers that an email is taken).
 */
export type SignUpAdmission = (emailTaken: boolean) => Promise<void>

const admitAll: SignUpAdmission = async () => {}

function isDuplicate(error: unknown): boolean {
  return (error as { code?: string }).code === 'ER_DUP_ENTRY'
}

export class UserService {
  // Compared against when the email is unknown, so both failures cost one bcrypt compare.
  private readonly dummyHash: Promise<string>

  constructor(
    private readonly userDao: UserDao,
    private readonly storage: Storage,
    private readonly tokens: TokenSigner,
    private readonly settings: UserSettings
  ) {
    this.dummyHash = bcrypt.hash(randomUUID(), settings.bcryptRounds)
  }

  /** A taken email is refused before hashing, since the hash is the expensive part of a sign-up. */
  async signUp(input: SignUp, admit: SignUpAdmission = admitAll): Promise<UserRow> {
    if (await this.userDao.emailTaken(input.email)) return this.refuseTaken(admit)
    await admit(false)
    const hashedPassword = await bcrypt.hash(input.password, this.settings.bcryptRounds)
    let id: number
    try {
      id = await this.userDao.insertUser({ ...input, hashedPassword })
    } catch (error) {
      // Two sign-ups for one email at once both pass the lookup: the unique index decides.
      if (isDuplicate(error)) return this.refuseTaken(admit)
      throw error
    }
    return (await this.userDao.userById(id))!
  }

  private async refuseTaken(admit: SignUpAdmission): Promise<never> {
    await admit(true)
    throw new Conflict('A user with this email already exists', { field: 'email' })
  }

  /** Returns the user id and a signed token; the same error for an unknown email and a wrong password. */
  async login(email: string, password: string): Promise<{ user_id: number; access_token: string }> {
    const credentials = await this.userDao.credentialsByEmail(email)
    const matches = await bcrypt.compare(password, credentials?.hashed_password ?? (await this.dummyHash))
    if (!credentials || !matches) throw new Unauthorized('Invalid email or password')
    return { user_id: credentials.id, access_token: this.tokens.sign({ user_id: credentials.id }) }
  }

  /** Whether the account still exists, e.g. for the holder of an otherwise valid token. */
  async exists(id: number): Promise<boolean> {
    return this.userDao.exists(id)
  }

  /** A public profile with counters; the email only when `self` (the user asking about themself). */
  async profile(id: number, self: boolean): Promise<Profile> {
    const row = await this.userDao.profileById(id, self)
    if (!row) throw new NotFound('User not found', { user_id: id })
    const { email, profile_picture, ...rest } = row
    return {
      ...rest,
      profile_picture: profile_picture === null ? null : this.storage.url(profile_picture),
      ...(self ? { email } : {})
    }
  }

  async updateProfile(id: number, changes: { name?: string; profile?: string }): Promise<Profile> {
    if (!(await this.userDao.updateProfile(id, changes))) throw new NotFound('User not found', { user_id: id })
    return this.profile(id, true)
  }

  /** Stores a new picture under a generated name, then removes the one it replaces. */
  async saveProfilePicture(userId: number, body: Readable): Promise<string> {
    const upload = await sniff(body, imageTypes, this.settings.maxUploadBytes)
    const key = `profile/${randomUUID()}.${upload.ext}`
    await this.storage.put(key, upload.stream, upload.mime)
    let replaced: { previous: string | null } | undefined
    try {
      replaced = await this.userDao.replaceProfilePicture(userId, key)
    } catch (error) {
      await this.storage.delete(key)
      throw error
    }
    if (!replaced) {
      await this.storage.delete(key)
      throw new NotFound('User not found', { user_id: userId })
    }
    if (replaced.previous) await this.storage.delete(replaced.previous)
    return this.storage.url(key)
  }

  async profilePictureUrl(userId: number): Promise<string> {
    const key = await this.userDao.profilePicture(userId)
    if (key === undefined) throw new NotFound('User not found', { user_id: userId })
    if (key === null) throw new NotFound('This user has no profile picture', { user_id: userId })
    return this.storage.url(key)
  }

  /** Removes the picture and its stored file. */
  async deleteProfilePicture(userId: number): Promise<void> {
    const replaced = await this.userDao.replaceProfilePicture(userId, null)
    if (!replaced) throw new NotFound('User not found', { user_id: userId })
    if (!replaced.previous) throw new NotFound('You have no profile picture', { user_id: userId })
    await this.storage.delete(replaced.previous)
  }
}
