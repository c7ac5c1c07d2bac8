// The rows a deleted account leaves that no counter depends on (its notifications, blocks, mutes, home
// timeline, tokens) and its media, removed in bounded batches by its erasure (service/account-eraser.ts).
// Rows that move other users' counters (follows, likes, retweets, tweets) are undone by the services
// that keep those counters.
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import type { Queryable } from './database.ts'

/** Each kind of row an account leaves, as the table and the column naming the account (with its index). */
const ownedRows = {
  notifications_to: ['notifications', 'user_id'],
  notifications_from: ['notifications', 'actor_id'],
  blocks_by: ['blocks', 'user_id'],
  blocks_of: ['blocks', 'blocked_id'],
  mutes_by: ['mutes', 'user_id'],
  mutes_of: ['mutes', 'muted_id'],
  // No foreign key names the owner (migrations/002): these would outlive the account.
  timeline: ['timeline_entries', 'owner_id'],
  personal_tokens: ['personal_tokens', 'user_id'],
  revoked_tokens: ['revoked_tokens', 'user_id']
} as const

export type OwnedRows = keyof typeof ownedRows

export const ownedRowKinds = Object.keys(ownedRows) as OwnedRows[]

export class AccountDao {
  constructor(private readonly pool: Pool) {}

  /** Deletes up to `limit` rows of one kind naming the account; answers how many went. */
  async deleteOwned(kind: OwnedRows, userId: number, limit: number): Promise<number> {
    const [table, column] = ownedRows[kind]
    const [result] = await this.pool.execute<ResultSetHeader>(`DELETE FROM ${table} WHERE ${column} = ? LIMIT ?`, [
      userId,
      String(limit)
    ])
    return result.affectedRows
  }

  /**
   * Hands up to `limit` of the account's media to purge: each object's key becomes a pending object due at
   * once (migrations/005) and its row goes (with its links to tweets), in the caller's transaction, so no
   * object is ever left without a record. Answers how many.
   */
  async releaseMedia(connection: Queryable, userId: number, limit: number): Promise<number> {
    const [rows] = await connection.execute<RowDataPacket[]>(
      'SELECT id, storage_key FROM media WHERE user_id = ? ORDER BY id LIMIT ? FOR UPDATE',
      [userId, String(limit)]
    )
    if (rows.length === 0) return 0
    await connection.query(
      'INSERT INTO pending_objects (storage_key, purge_after) VALUES ? ON DUPLICATE KEY UPDATE purge_after = VALUES(purge_after)',
      [rows.map((row) => [row.storage_key as string, new Date(0)])]
    )
    await connection.query('DELETE FROM media WHERE id IN (?)', [rows.map((row) => row.id as number)])
    return rows.length
  }
}
