// Records of stored objects that no row references (pending_objects): written before a profile picture
// is stored and when one is replaced, so purge can find every object that would otherwise be orphaned.
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import type { Queryable } from './database.ts'

export class PendingObjectDao {
  constructor(private readonly pool: Pool) {}

  // Both writes run inside a service's transaction or on their own (Transactor.autocommit): the service decides.

  /** Records `key` for purge after `purgeAfter`; recording a key again only moves its time. */
  async insert(connection: Queryable, key: string, purgeAfter: Date): Promise<void> {
    await connection.execute(
      'INSERT INTO pending_objects (storage_key, purge_after) VALUES (?, ?) ON DUPLICATE KEY UPDATE purge_after = VALUES(purge_after)',
      [key, purgeAfter]
    )
  }

  /** Drops the record of `key` (its object is referenced now, or gone); false when there was none. */
  async remove(connection: Queryable, key: string): Promise<boolean> {
    const [result] = await connection.execute<ResultSetHeader>('DELETE FROM pending_objects WHERE storage_key = ?', [
      key
    ])
    return result.affectedRows > 0
  }

  /** Keys whose purge time has come (at or before `now`), after `afterKey`, in key order. */
  async due(now: Date, afterKey: string, limit: number): Promise<string[]> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(
      `SELECT storage_key FROM pending_objects
        WHERE purge_after <= ? AND storage_key > ?
        ORDER BY storage_key
        LIMIT ?`,
      [now, afterKey, String(limit)]
    )
    return rows.map((row) => row.storage_key as string)
  }
}
