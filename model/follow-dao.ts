import type { Pool, ResultSetHeader } from 'mysql2/promise'

export class FollowDao {
  constructor(private readonly pool: Pool) {}

  /** Idempotent: following twice leaves one row. Returns true when a row was added. */
  async follow(userId: number, followUserId: number): Promise<boolean> {
    const [result] = await this.pool.execute<ResultSetHeader>(
      'INSERT IGNORE INTO users_follow_list (user_id, follow_user_id) VALUES (?, ?)',
      [userId, followUserId]
    )
    return result.affectedRows > 0
  }

  /** Idempotent: returns true when a row was removed. */
  async unfollow(userId: number, followUserId: number): Promise<boolean> {
    const [result] = await this.pool.execute<ResultSetHeader>(
      'DELETE FROM users_follow_list WHERE user_id = ? AND follow_user_id = ?',
      [userId, followUserId]
    )
    return result.affectedRows > 0
  }
}
