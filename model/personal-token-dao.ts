// Personal access tokens (migrations/016): rows keyed by the SHA-256 of their secret, never the secret.
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise'

export interface PersonalTokenRow {
  id: number
  name: string
  scope: 'read' | 'write'
  created_at: Date
}

/** What a request's personal token is checked against. */
export interface PersonalTokenGrant {
  id: number
  user_id: number
  scope: 'read' | 'write'
  /** False once the account's tokens were all revoked (POST /logout-all, a password change). */
  current: boolean
}

export class PersonalTokenDao {
  /** Everything reads the primary: a token just made or revoked must count at once. */
  constructor(private readonly pool: Pool) {}

  /**
   * Records a token of userId's, at the account's current token version, unless the account already has
   * `max` of them or no longer exists: undefined then, and `full` says which.
   */
  async insert(
    userId: number,
    name: string,
    scope: 'read' | 'write',
    hash: Buffer,
    max: number
  ): Promise<{ id: number } | { full: boolean }> {
    const [result] = await this.pool.execute<ResultSetHeader>(
      `INSERT INTO personal_tokens (user_id, name, scope, token_hash, token_version)
       SELECT u.id, ?, ?, ?, u.token_version FROM users u
        WHERE u.id = ? AND (SELECT COUNT(*) FROM personal_tokens p WHERE p.user_id = u.id) < ?`,
      [name, scope, hash, userId, max]
    )
    if (result.affectedRows === 1) return { id: result.insertId }
    const [rows] = await this.pool.execute<RowDataPacket[]>('SELECT 1 FROM users WHERE id = ?', [userId])
    return { full: rows.length > 0 }
  }

  async list(userId: number): Promise<PersonalTokenRow[]> {
    const [rows] = await this.pool.execute<(PersonalTokenRow & RowDataPacket)[]>(
      'SELECT id, name, scope, created_at FROM personal_tokens WHERE user_id = ? ORDER BY id DESC',
      [userId]
    )
    return rows
  }

  async byId(userId: number, id: number): Promise<PersonalTokenRow | undefined> {
    const [rows] = await this.pool.execute<(PersonalTokenRow & RowDataPacket)[]>(
      'SELECT id, name, scope, created_at FROM personal_tokens WHERE user_id = ? AND id = ?',
      [userId, id]
    )
    return rows[0]
  }

  /** Deletes one of userId's tokens; false when it has none with this id. */
  async remove(userId: number, id: number): Promise<boolean> {
    const [result] = await this.pool.execute<ResultSetHeader>(
      'DELETE FROM personal_tokens WHERE user_id = ? AND id = ?',
      [userId, id]
    )
    return result.affectedRows > 0
  }

  /** The token with this hash and whether its account has not revoked it since: one primary-key join. */
  async grant(hash: Buffer): Promise<PersonalTokenGrant | undefined> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(
      `SELECT p.id, p.user_id, p.scope, p.token_version = u.token_version AS current
         FROM personal_tokens p JOIN users u ON u.id = p.user_id
        WHERE p.token_hash = ?`,
      [hash]
    )
    const row = rows[0]
    if (!row) return undefined
    return {
      id: row.id as number,
      user_id: row.user_id as number,
      scope: row.scope as 'read' | 'write',
      current: row.current === 1
    }
  }
}
