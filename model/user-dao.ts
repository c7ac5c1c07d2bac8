// Users: accounts, credentials and profiles, the timeline state, profile pictures, and the authors row cache.
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import { RowCache, type RowCacheOptions } from './row-cache.ts'
import type { Queryable } from './database.ts'

export interface UserRow {
  id: number
  name: string
  username: string
  email: string
  profile: string
  profile_picture: string | null
  created_at: Date
}

export interface ProfileRow extends UserRow {
  followers_count: number
  following_count: number
  tweets_count: number
}

export interface UserSummaryRow {
  id: number
  name: string
  username: string
  profile: string
  profile_picture: string | null
}

export interface CredentialsRow {
  id: number
  hashed_password: string
  /** What the account's tokens must carry as `ver` (migrations/015). */
  token_version: number
}

/** A login's account: its credentials, and whether it was deleted and is still within its grace period. */
export interface LoginRow extends CredentialsRow {
  /** Deleted (migrations/017): every read leaves it out. */
  deactivated: boolean
  /** Deleted but not yet due for erasure: logging in restores it. */
  restorable: boolean
}

/** What an authenticated request's token is checked against: the account's version, and its own revocation. */
export interface TokenStateRow {
  token_version: number
  revoked: boolean
}

export interface TimelineStateRow {
  timeline_horizon: number
  pulled_following_count: number
}

export interface FanoutRow {
  fanout: 'push' | 'pull'
  followers_count: number
}

export interface NewUser {
  name: string
  username: string
  email: string
  profile: string
  hashedPassword: string
}

/** A user as a username names them. */
export interface UsernameRow {
  id: number
  username: string
}

const userColumns = 'id, name, username, email, profile, profile_picture, created_at'

/**
 * The condition every read of users by others adds: a deleted account (migrations/017) is gone for them
 * from the moment of its deletion, long before its rows are erased.
 */
export const liveUser = 'deactivated_at IS NULL'
const profileColumns = `${userColumns}, followers_count, following_count, tweets_count`

/** What a tweet shows of its author. */
export interface AuthorRow {
  id: number
  name: string
  username: string
  profile_picture: string | null
}

/** The unique keys of users, by the field each guards (migrations/001 and 010). */
const uniqueKeys: Record<string, 'email' | 'username'> = { users_email: 'email', users_username: 'username' }

/** Thrown by a write that would give a user an email or a username another user has; nothing was written. */
export class DuplicateUser extends Error {
  constructor(readonly field: 'email' | 'username') {
    super(`Another user has this ${field}`)
    this.name = 'DuplicateUser'
  }
}

/** A duplicate key on users as DuplicateUser, telling the keys apart by name; any other error as it is. */
function duplicateUser(error: unknown): unknown {
  const { code, sqlMessage } = error as { code?: string; sqlMessage?: string }
  if (code !== 'ER_DUP_ENTRY') return error
  // MariaDB names the key alone ('users_email'), MySQL 8 with its table ('users.users_email').
  const key = /for key '(?:[^']*\.)?([^'.]+)'$/.exec(sqlMessage ?? '')?.[1]
  const field = key === undefined ? undefined : uniqueKeys[key]
  return field ? new DuplicateUser(field) : error
}

/** Entries of the author cache: about 10 MiB at most. */
export const authorCacheEntries = 50_000

export class UserDao {
  private readonly authorCache: RowCache<AuthorRow>

  /** Profile, author and timeline reads go to `readPool` (a replica when DATABASE_READ_URL is set). */
  constructor(
    private readonly pool: Pool,
    private readonly readPool: Pool = pool,
    // Without options every author is read every time (the app passes READ_CACHE_TTL_MS).
    authorCache: RowCacheOptions = { ttlMs: 0, maxEntries: authorCacheEntries }
  ) {
    this.authorCache = new RowCache<AuthorRow>(async (ids) => {
      const [rows] = await this.readPool.query<(AuthorRow & RowDataPacket)[]>(
        `SELECT id, name, username, profile_picture FROM users WHERE id IN (?) AND ${liveUser}`,
        [ids]
      )
      return rows.map((row) => ({
        id: row.id,
        name: row.name,
        username: row.username,
        profile_picture: row.profile_picture
      }))
    }, authorCache)
  }

  /** The name, username and picture of each of these users (model/row-cache.ts); deleted ones are absent. */
  authors(ids: readonly number[]): Promise<Map<number, AuthorRow>> {
    return this.authorCache.byIds(ids)
  }

  /** Resolves once a background refresh of old authors has finished. */
  authorsSettled(): Promise<void> {
    return this.authorCache.settled()
  }

  /** An author as the primary has just answered it (a post returns its author). */
  rememberAuthor(author: AuthorRow): void {
    this.authorCache.remember(author)
  }

  /** An author whose picture the caller has just changed, once its transaction committed. */
  forgetAuthor(id: number): void {
    this.authorCache.forget(id)
  }

  /** Inserts a user; an email or a username taken (whatever its case) throws DuplicateUser naming it. */
  async insertUser(user: NewUser): Promise<number> {
    try {
      const [result] = await this.pool.execute<ResultSetHeader>(
        'INSERT INTO users (name, username, email, profile, hashed_password) VALUES (?, ?, ?, ?, ?)',
        [user.name, user.username, user.email, user.profile, user.hashedPassword]
      )
      return result.insertId
    } catch (error) {
      throw duplicateUser(error)
    }
  }

  async userById(id: number): Promise<UserRow | undefined> {
    const [rows] = await this.pool.execute<(UserRow & RowDataPacket)[]>(
      `SELECT ${userColumns} FROM users WHERE id = ? AND ${liveUser}`,
      [id]
    )
    return rows[0]
  }

  /** `fresh` reads the primary: a user looking at their own profile must see their own writes. */
  async profileById(id: number, fresh = false): Promise<ProfileRow | undefined> {
    const [rows] = await (fresh ? this.pool : this.readPool).execute<(ProfileRow & RowDataPacket)[]>(
      `SELECT ${profileColumns} FROM users WHERE id = ? AND ${liveUser}`,
      [id]
    )
    return rows[0]
  }

  /** A profile by username, whatever its case (the unique key's collation ignores it). */
  async profileByUsername(username: string): Promise<ProfileRow | undefined> {
    const [rows] = await this.readPool.execute<(ProfileRow & RowDataPacket)[]>(
      `SELECT ${profileColumns} FROM users WHERE username = ? AND ${liveUser}`,
      [username]
    )
    return rows[0]
  }

  /**
   * Changes the given fields; returns false when the user does not exist. A username another user has
   * (whatever its case) throws DuplicateUser; the user's own in another case is a change like any other.
   */
  async updateProfile(id: number, changes: { name?: string; profile?: string; username?: string }): Promise<boolean> {
    let result: ResultSetHeader
    try {
      ;[result] = await this.pool.execute<ResultSetHeader>(
        `UPDATE users SET name = COALESCE(?, name), profile = COALESCE(?, profile), username = COALESCE(?, username)
          WHERE id = ? AND ${liveUser}`,
        [changes.name ?? null, changes.profile ?? null, changes.username ?? null, id]
      )
    } catch (error) {
      throw duplicateUser(error)
    }
    // After the change is committed: a read racing it could otherwise cache the old name again.
    if (changes.name !== undefined || changes.username !== undefined) this.authorCache.forget(id)
    return result.affectedRows > 0
  }

  /** The account an email logs in to, deleted or not (LoginRow says which). */
  async credentialsByEmail(email: string): Promise<LoginRow | undefined> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(
      `SELECT id, hashed_password, token_version, deactivated_at IS NOT NULL AS deactivated,
              COALESCE(erase_after > NOW(3), 0) AS restorable
         FROM users WHERE email = ?`,
      [email]
    )
    const row = rows[0]
    return (
      row && {
        id: row.id as number,
        hashed_password: row.hashed_password as string,
        token_version: row.token_version as number,
        deactivated: row.deactivated === 1,
        restorable: row.restorable === 1
      }
    )
  }

  async credentialsById(id: number): Promise<CredentialsRow | undefined> {
    const [rows] = await this.pool.execute<(CredentialsRow & RowDataPacket)[]>(
      `SELECT id, hashed_password, token_version FROM users WHERE id = ? AND ${liveUser}`,
      [id]
    )
    return rows[0]
  }

  /**
   * The account's token version and whether the token `tokenId` was revoked, in one primary-key lookup
   * (the one every authenticated request makes); undefined when the account no longer exists.
   */
  async tokenState(id: number, tokenId: string): Promise<TokenStateRow | undefined> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(
      `SELECT token_version, EXISTS (SELECT 1 FROM revoked_tokens WHERE token_id = ?) AS revoked
         FROM users WHERE id = ? AND ${liveUser}`,
      [tokenId, id]
    )
    return rows[0] && { token_version: rows[0].token_version as number, revoked: rows[0].revoked === 1 }
  }

  /** Revokes one token until `expiresAt`, its own exp; rows already past theirs go (a bounded number). */
  async revokeToken(tokenId: string, userId: number, expiresAt: Date): Promise<void> {
    await this.pool.execute('INSERT IGNORE INTO revoked_tokens (token_id, user_id, expires_at) VALUES (?, ?, ?)', [
      tokenId,
      userId,
      expiresAt
    ])
    await this.pool.execute('DELETE FROM revoked_tokens WHERE expires_at < CURRENT_TIMESTAMP LIMIT 100')
  }

  /**
   * Raises the account's token version (every token it issued so far stops working), with a new password
   * hash when one is given; answers the new version, undefined when the account no longer exists.
   */
  async newTokenVersion(connection: Queryable, id: number, hashedPassword?: string): Promise<number | undefined> {
    const [result] = await connection.execute<ResultSetHeader>(
      `UPDATE users SET token_version = token_version + 1, hashed_password = COALESCE(?, hashed_password)
        WHERE id = ?`,
      [hashedPassword ?? null, id]
    )
    if (result.affectedRows === 0) return undefined
    const [rows] = await connection.execute<RowDataPacket[]>('SELECT token_version FROM users WHERE id = ?', [id])
    return rows[0].token_version as number
  }

  /** Reads the primary, which the unique index guards: a replica could miss an account just created. */
  async emailTaken(email: string): Promise<boolean> {
    const [rows] = await this.pool.execute<RowDataPacket[]>('SELECT 1 FROM users WHERE email = ?', [email])
    return rows.length > 0
  }

  /**
   * The users who have these usernames, each spelled as its owner chose (compare them case-insensitively):
   * the taken ones for sign-up (a deleted account's name is taken until it is erased), the mentioned ones
   * for a tweet (`liveOnly`: nobody mentions a deleted account). Reads the primary, like emailTaken.
   */
  async usersByUsernames(usernames: readonly string[], liveOnly = false): Promise<UsernameRow[]> {
    if (usernames.length === 0) return []
    const [rows] = await this.pool.query<(UsernameRow & RowDataPacket)[]>(
      `SELECT id, username FROM users WHERE username IN (?)${liveOnly ? ` AND ${liveUser}` : ''}`,
      [usernames]
    )
    return rows.map((row) => ({ id: row.id, username: row.username }))
  }

  async exists(id: number): Promise<boolean> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(`SELECT 1 FROM users WHERE id = ? AND ${liveUser}`, [id])
    return rows.length > 0
  }

  async timelineState(id: number): Promise<TimelineStateRow | undefined> {
    const [rows] = await this.readPool.execute<(TimelineStateRow & RowDataPacket)[]>(
      `SELECT timeline_horizon, pulled_following_count FROM users WHERE id = ? AND ${liveUser}`,
      [id]
    )
    return rows[0]
  }

  /**
   * Locks both users' rows in id order (so two follows between the same pair cannot deadlock) and
   * returns the fan-out state of `targetId`; undefined when it does not exist or was deleted, unless
   * `deleted` (the erasure of a deleted account undoes its follows like anyone's).
   */
  async lockPair(
    connection: Queryable,
    userId: number,
    targetId: number,
    deleted = false
  ): Promise<FanoutRow | undefined> {
    const [rows] = await connection.execute<(FanoutRow & { id: number; live: number } & RowDataPacket)[]>(
      `SELECT id, fanout, followers_count, ${liveUser} AS live FROM users WHERE id IN (?, ?) ORDER BY id FOR UPDATE`,
      [userId, targetId]
    )
    const target = rows.find((row) => row.id === targetId)
    return target && (deleted || target.live === 1)
      ? { fanout: target.fanout, followers_count: target.followers_count }
      : undefined
  }

  /**
   * Locks the user's row, as a post does (migrations/004), and returns its fan-out state: a retweet and a
   * concurrent follow of the retweeter are ordered like a tweet and a follow of its author.
   */
  async lockPoster(connection: Queryable, id: number): Promise<FanoutRow | undefined> {
    const [rows] = await connection.execute<(FanoutRow & RowDataPacket)[]>(
      'SELECT fanout, followers_count FROM users WHERE id = ? FOR UPDATE',
      [id]
    )
    return rows[0] && { fanout: rows[0].fanout, followers_count: rows[0].followers_count }
  }

  async setFanout(connection: Queryable, id: number, fanout: 'push' | 'pull'): Promise<void> {
    await connection.execute('UPDATE users SET fanout = ? WHERE id = ?', [fanout, id])
  }

  async addTweetsCount(connection: Queryable, id: number, delta: number): Promise<void> {
    await connection.execute('UPDATE users SET tweets_count = tweets_count + ? WHERE id = ?', [delta, id])
  }

  async profilePicture(id: number): Promise<string | null | undefined> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(
      `SELECT profile_picture FROM users WHERE id = ? AND ${liveUser}`,
      [id]
    )
    return rows.length === 0 ? undefined : (rows[0].profile_picture as string | null)
  }

  /**
   * Sets the picture key and returns the one it replaced (null when there was none), with the row
   * locked so two concurrent uploads cannot both miss the old file. Undefined: no such user. The
   * caller calls forgetAuthor after its commit.
   */
  async replaceProfilePicture(
    connection: PoolConnection,
    id: number,
    key: string | null
  ): Promise<{ previous: string | null } | undefined> {
    const [rows] = await connection.execute<RowDataPacket[]>(
      'SELECT profile_picture FROM users WHERE id = ? FOR UPDATE',
      [id]
    )
    if (rows.length === 0) return undefined
    await connection.execute('UPDATE users SET profile_picture = ? WHERE id = ?', [key, id])
    return { previous: rows[0].profile_picture as string | null }
  }

  /**
   * Deletes the account as far as everyone else can tell (every read with liveUser leaves it out) and
   * revokes every token it issued; its rows are erased once `graceSeconds` have passed (by the database's
   * clock, which every check of erase_after reads). False when there is no such live account.
   */
  async deactivate(connection: Queryable, id: number, graceSeconds: number): Promise<boolean> {
    const [result] = await connection.execute<ResultSetHeader>(
      `UPDATE users SET deactivated_at = NOW(3), erase_after = NOW(3) + INTERVAL ? SECOND,
                        token_version = token_version + 1
        WHERE id = ? AND ${liveUser}`,
      [graceSeconds, id]
    )
    if (result.affectedRows > 0) this.authorCache.forget(id)
    return result.affectedRows > 0
  }

  /** Undoes a deletion still within its grace period; false when there is none to undo (or it is due). */
  async restore(id: number): Promise<boolean> {
    const [result] = await this.pool.execute<ResultSetHeader>(
      'UPDATE users SET deactivated_at = NULL, erase_after = NULL WHERE id = ? AND erase_after > NOW(3)',
      [id]
    )
    if (result.affectedRows > 0) this.authorCache.forget(id)
    return result.affectedRows > 0
  }

  /** Deleted accounts whose grace period has passed, the longest due first. */
  async dueForErasure(limit: number): Promise<number[]> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(
      'SELECT id FROM users WHERE erase_after <= NOW(3) ORDER BY erase_after LIMIT ?',
      [String(limit)]
    )
    return rows.map((row) => row.id as number)
  }

  /**
   * The last step of an erasure: the users row, with what is left that names it (foreign keys cascade).
   * Only an account due for erasure; false when there is none.
   */
  async deleteErased(id: number): Promise<boolean> {
    const [result] = await this.pool.execute<ResultSetHeader>(
      'DELETE FROM users WHERE id = ? AND erase_after <= NOW(3)',
      [id]
    )
    return result.affectedRows > 0
  }
}
