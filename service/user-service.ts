import { randomUUID } from 'node:crypto'
import type { Readable } from 'node:stream'
import bcrypt from 'bcrypt'
import type { UserDao, UserRow } from '../model/user-dao.ts'
import type { FollowDao } from '../model/follow-dao.ts'
import { Conflict, Invalid, NotFound, Unauthorized } from './errors.ts'
import type { Storage } from './storage.ts'
import { imageTypes, sniff } from './upload.ts'

export type { UserRow }

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

function isDuplicate(error: unknown): boolean {
  return (error as { code?: string }).code === 'ER_DUP_ENTRY'
}

export class UserService {
  // Compared against when the email is unknown, so both failures cost one bcrypt compare.
  private readonly dummyHash: Promise<string>

  constructor(
    private readonly userDao: UserDao,
    private readonly followDao: FollowDao,
    private readonly storage: Storage,
    private readonly tokens: TokenSigner,
    private readonly settings: UserSettings
  ) {
    this.dummyHash = bcrypt.hash(randomUUID(), settings.bcryptRounds)
  }

  async signUp(input: SignUp): Promise<UserRow> {
    const hashedPassword = await bcrypt.hash(input.password, this.settings.bcryptRounds)
    let id: number
    try {
      id = await this.userDao.insertUser({ ...input, hashedPassword })
    } catch (error) {
      if (isDuplicate(error)) throw new Conflict('A user with this email already exists', { field: 'email' })
      throw error
    }
    return (await this.userDao.userById(id))!
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

  async user(id: number): Promise<UserRow> {
    const user = await this.userDao.userById(id)
    if (!user) throw new NotFound('User not found', { user_id: id })
    return user
  }

  async follow(userId: number, targetId: number): Promise<void> {
    if (userId === targetId) throw new Invalid('You cannot follow yourself', { field: 'follow' })
    await this.assertExists(targetId)
    await this.followDao.follow(userId, targetId)
  }

  async unfollow(userId: number, targetId: number): Promise<void> {
    if (userId === targetId) throw new Invalid('You cannot unfollow yourself', { field: 'unfollow' })
    await this.assertExists(targetId)
    await this.followDao.unfollow(userId, targetId)
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

  private async assertExists(id: number): Promise<void> {
    if (!(await this.userDao.exists(id))) throw new NotFound('User not found', { user_id: id })
  }
}
