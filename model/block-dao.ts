// Blocks and mutes: one row per (user, account) in `blocks` or `mutes`, the checks every rule asks, and
// the lists of a user's blocked and muted accounts.
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import type { Queryable } from './database.ts'
import { liveUser, type UserSummaryRow } from './user-dao.ts'

/** Which of the two tables: a block works both ways, a mute one way. */
export type Restriction = 'block' | 'mute'

const tables: Record<Restriction, { table: string; column: string }> = {
  block: { table: 'blocks', column: 'blocked_id' },
  mute: { table: 'mutes', column: 'muted_id' }
}

export class BlockDao {
  /** Checks read `pool` (the primary: they guard the caller's own writes); lists go to `readPool`. */
  constructor(
    private readonly pool: Pool,
    private readonly readPool: Pool = pool
  ) {}

  /** Idempotent: returns true when a row was added. */
  async add(connection: Queryable, kind: Restriction, userId: number, targetId: number): Promise<boolean> {
    const { table, column } = tables[kind]
    const [result] = await connection.execute<ResultSetHeader>(
      `INSERT IGNORE INTO ${table} (user_id, ${column}) VALUES (?, ?)`,
      [userId, targetId]
    )
    return result.affectedRows > 0
  }

  /** Idempotent: returns true when a row was removed. */
  async remove(connection: Queryable, kind: Restriction, userId: number, targetId: number): Promise<boolean> {
    const { table, column } = tables[kind]
    const [result] = await connection.execute<ResultSetHeader>(
      `DELETE FROM ${table} WHERE user_id = ? AND ${column} = ?`,
      [userId, targetId]
    )
    return result.affectedRows > 0
  }

  /** Whether either user blocks the other: two primary-key lookups. */
  async blockedEitherWay(connection: Queryable | undefined, a: number, b: number): Promise<boolean> {
    const [rows] = await (connection ?? this.pool).execute<RowDataPacket[]>(
      `SELECT 1 FROM blocks WHERE user_id = ? AND blocked_id = ?
       UNION ALL
       SELECT 1 FROM blocks WHERE user_id = ? AND blocked_id = ?
       LIMIT 1`,
      [a, b, b, a]
    )
    return rows.length > 0
  }

  /** The accounts userId blocked or muted, highest id first, ids below `before`. */
  async list(kind: Restriction, userId: number, before: number, limit: number): Promise<UserSummaryRow[]> {
    const { table, column } = tables[kind]
    const [rows] = await this.readPool.execute<(UserSummaryRow & RowDataPacket)[]>(
      `SELECT u.id, u.name, u.username, u.profile, u.profile_picture
         FROM ${table} r JOIN users u ON u.id = r.${column} AND u.${liveUser}
        WHERE r.user_id = ? AND r.${column} < ?
        ORDER BY r.${column} DESC
        LIMIT ?`,
      [userId, before, String(limit)]
    )
    return rows
  }
}
