// Follows: the follows table and the follower/following counters, the pulled (not fanned-out) followees, follower lists.
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import type { Queryable } from './database.ts'
import { liveUser, type UserSummaryRow } from './user-dao.ts'

/** How one user stands towards another. */
export interface RelationshipRow {
  following: boolean
  followed_by: boolean
  blocking: boolean
  blocked_by: boolean
  muting: boolean
}

export class FollowDao {
  /** Lists go to `readPool` (a replica when DATABASE_READ_URL is set); writes take a connection. */
  constructor(private readonly readPool: Pool) {}

  /** Idempotent: following twice leaves one row. Returns true when a row was added. */
  async follow(connection: Queryable, userId: number, followUserId: number): Promise<boolean> {
    const [result] = await connection.execute<ResultSetHeader>(
      'INSERT IGNORE INTO users_follow_list (user_id, follow_user_id) VALUES (?, ?)',
      [userId, followUserId]
    )
    return result.affectedRows > 0
  }

  /** Idempotent: returns true when a row was removed. */
  async unfollow(connection: Queryable, userId: number, followUserId: number): Promise<boolean> {
    const [result] = await connection.execute<ResultSetHeader>(
      'DELETE FROM users_follow_list WHERE user_id = ? AND follow_user_id = ?',
      [userId, followUserId]
    )
    return result.affectedRows > 0
  }

  /** Moves both users' counters by delta (+1 on follow, -1 on unfollow) in one statement. */
  async addFollowCounts(connection: Queryable, userId: number, followUserId: number, delta: number): Promise<void> {
    await connection.execute(
      `UPDATE users
          SET following_count = following_count + IF(id = ?, ?, 0),
              followers_count = followers_count + IF(id = ?, ?, 0)
        WHERE id IN (?, ?)`,
      [userId, delta, followUserId, delta, userId, followUserId]
    )
  }

  /** Records a follow of a 'pull' account; returns true when it was new. */
  async addPulledFollow(connection: Queryable, userId: number, followUserId: number): Promise<boolean> {
    const [result] = await connection.execute<ResultSetHeader>(
      'INSERT IGNORE INTO pulled_follows (user_id, follow_user_id) VALUES (?, ?)',
      [userId, followUserId]
    )
    if (result.affectedRows > 0) {
      await connection.execute('UPDATE users SET pulled_following_count = pulled_following_count + 1 WHERE id = ?', [
        userId
      ])
    }
    return result.affectedRows > 0
  }

  async removePulledFollow(connection: Queryable, userId: number, followUserId: number): Promise<void> {
    const [result] = await connection.execute<ResultSetHeader>(
      'DELETE FROM pulled_follows WHERE user_id = ? AND follow_user_id = ?',
      [userId, followUserId]
    )
    if (result.affectedRows > 0) {
      await connection.execute('UPDATE users SET pulled_following_count = pulled_following_count - 1 WHERE id = ?', [
        userId
      ])
    }
  }

  /** When an account becomes 'pull', every existing follower reads it directly from then on. */
  async convertFollowersToPulled(connection: Queryable, followUserId: number): Promise<void> {
    await connection.execute(
      `UPDATE users u JOIN users_follow_list f ON f.user_id = u.id AND f.follow_user_id = ?
          SET u.pulled_following_count = u.pulled_following_count + 1`,
      [followUserId]
    )
    await connection.execute(
      'INSERT IGNORE INTO pulled_follows (user_id, follow_user_id) SELECT user_id, follow_user_id FROM users_follow_list WHERE follow_user_id = ?',
      [followUserId]
    )
  }

  async pulledFollowees(userId: number): Promise<number[]> {
    const [rows] = await this.readPool.execute<RowDataPacket[]>(
      'SELECT follow_user_id FROM pulled_follows WHERE user_id = ?',
      [userId]
    )
    return rows.map((row) => row.follow_user_id as number)
  }

  /**
   * How userId and targetId stand: follows both ways, blocks both ways, userId's mute of targetId. One
   * statement of five primary-key lookups, on the primary (the caller's own writes must show at once).
   */
  async relationship(connection: Queryable, userId: number, targetId: number): Promise<RelationshipRow> {
    const [rows] = await connection.execute<RowDataPacket[]>(
      `SELECT 'following' AS flag FROM users_follow_list WHERE user_id = ? AND follow_user_id = ?
       UNION ALL SELECT 'followed_by' FROM users_follow_list WHERE user_id = ? AND follow_user_id = ?
       UNION ALL SELECT 'blocking' FROM blocks WHERE user_id = ? AND blocked_id = ?
       UNION ALL SELECT 'blocked_by' FROM blocks WHERE user_id = ? AND blocked_id = ?
       UNION ALL SELECT 'muting' FROM mutes WHERE user_id = ? AND muted_id = ?`,
      [userId, targetId, targetId, userId, userId, targetId, targetId, userId, userId, targetId]
    )
    const flags = new Set(rows.map((row) => row.flag as string))
    return {
      following: flags.has('following'),
      followed_by: flags.has('followed_by'),
      blocking: flags.has('blocking'),
      blocked_by: flags.has('blocked_by'),
      muting: flags.has('muting')
    }
  }

  /**
   * Of these users, whom viewerId follows, and who blocks viewerId or is blocked by them: what a list of
   * people shown to viewerId needs, in one statement.
   */
  async viewerRelations(
    viewerId: number,
    userIds: readonly number[]
  ): Promise<{ following: Set<number>; blocked: Set<number> }> {
    const following = new Set<number>()
    const blocked = new Set<number>()
    if (userIds.length === 0) return { following, blocked }
    const [rows] = await this.readPool.query<RowDataPacket[]>(
      `SELECT 'following' AS flag, follow_user_id AS id FROM users_follow_list WHERE user_id = ? AND follow_user_id IN (?)
       UNION ALL SELECT 'blocked', blocked_id FROM blocks WHERE user_id = ? AND blocked_id IN (?)
       UNION ALL SELECT 'blocked', user_id FROM blocks WHERE blocked_id = ? AND user_id IN (?)`,
      [viewerId, userIds, viewerId, userIds, viewerId, userIds]
    )
    for (const row of rows) (row.flag === 'following' ? following : blocked).add(row.id as number)
    return { following, blocked }
  }

  /** Users following userId, highest id first, ids below `before`. */
  async followers(userId: number, before: number, limit: number): Promise<UserSummaryRow[]> {
    const [rows] = await this.readPool.execute<(UserSummaryRow & RowDataPacket)[]>(
      `SELECT u.id, u.name, u.username, u.profile, u.profile_picture
         FROM users_follow_list f JOIN users u ON u.id = f.user_id AND u.${liveUser}
        WHERE f.follow_user_id = ? AND f.user_id < ?
        ORDER BY f.user_id DESC
        LIMIT ?`,
      [userId, before, String(limit)]
    )
    return rows
  }

  /** Users that userId follows, highest id first, ids below `before`. */
  async following(userId: number, before: number, limit: number): Promise<UserSummaryRow[]> {
    const [rows] = await this.readPool.execute<(UserSummaryRow & RowDataPacket)[]>(
      `SELECT u.id, u.name, u.username, u.profile, u.profile_picture
         FROM users_follow_list f JOIN users u ON u.id = f.follow_user_id AND u.${liveUser}
        WHERE f.user_id = ? AND f.follow_user_id < ?
        ORDER BY f.follow_user_id DESC
        LIMIT ?`,
      [userId, before, String(limit)]
    )
    return rows
  }

  /**
   * Up to `limit` of the users userId follows or is followed by (the erasure of a deleted account undoes
   * these follows in turn): two index ranges.
   */
  async counterparts(connection: Queryable, userId: number, limit: number): Promise<number[]> {
    const [rows] = await connection.query<RowDataPacket[]>(
      `(SELECT follow_user_id AS id FROM users_follow_list WHERE user_id = ? LIMIT ?)
       UNION
       (SELECT user_id FROM users_follow_list FORCE INDEX (users_follow_list_follow_user) WHERE follow_user_id = ? LIMIT ?)`,
      [userId, limit, userId, limit]
    )
    return rows.map((row) => row.id as number)
  }

  /**
   * Which of `candidates` (the users with a live stream on an instance) follow authorId: any follower, only
   * those with ids in (after, through], or none unless the author is read directly ('pull'). One range of
   * the (follow_user_id, user_id) index.
   */
  async followersAmong(
    authorId: number,
    candidates: readonly number[],
    which: 'followers' | 'pulled' | { after: number; through: number }
  ): Promise<number[]> {
    if (candidates.length === 0) return []
    const range = typeof which === 'object' ? 'AND f.user_id > ? AND f.user_id <= ?' : ''
    const pulled = which === 'pulled' ? "JOIN users a ON a.id = f.follow_user_id AND a.fanout = 'pull'" : ''
    const [rows] = await this.readPool.query<RowDataPacket[]>(
      `SELECT f.user_id FROM users_follow_list f FORCE INDEX (users_follow_list_follow_user) ${pulled}
        WHERE f.follow_user_id = ? AND f.user_id IN (?) ${range}`,
      [authorId, candidates, ...(typeof which === 'object' ? [which.after, which.through] : [])]
    )
    return rows.map((row) => row.user_id as number)
  }
}
