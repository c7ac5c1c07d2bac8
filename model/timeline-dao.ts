// The home timeline: timeline_entries holds, per user, the ids of the tweets on their timeline
// (their own and their followees'), written when a tweet is posted, so a page is one range read.
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import type { Queryable } from './database.ts'
import { tweetColumns, type TweetRow } from './tweet-dao.ts'
import type { TimelineStateRow } from './user-dao.ts'

export type TimelinePageRow = TweetRow & TimelineStateRow

export class TimelineDao {
  /** Reads go to `readPool` (a replica when DATABASE_READ_URL is set); writes take a connection. */
  constructor(private readonly readPool: Pool) {}

  /** Copies a tweet into the given followers' timelines; a copy already there is left as it is. */
  async addToTimelines(connection: Queryable, tweetId: number, authorId: number, ownerIds: number[]): Promise<number> {
    if (ownerIds.length === 0) return 0
    const [result] = await connection.query<ResultSetHeader>(
      'INSERT IGNORE INTO timeline_entries (owner_id, tweet_id, author_id) VALUES ?',
      [ownerIds.map((ownerId) => [ownerId, tweetId, authorId])]
    )
    return result.affectedRows
  }

  /**
   * Copies the newest `keep` tweets of authorId (from `horizon` on) into ownerId's timeline, after a
   * follow. Returns the id of the oldest one copied when more remained, i.e. the owner's new horizon.
   */
  async backfill(
    connection: Queryable,
    ownerId: number,
    authorId: number,
    horizon: number,
    keep: number
  ): Promise<number | undefined> {
    await connection.execute(
      `INSERT IGNORE INTO timeline_entries (owner_id, tweet_id, author_id)
       SELECT ?, id, user_id FROM tweets WHERE user_id = ? AND id >= ? ORDER BY id DESC LIMIT ?`,
      [ownerId, authorId, horizon, String(keep)]
    )
    const [rows] = await connection.execute<RowDataPacket[]>(
      'SELECT id FROM tweets WHERE user_id = ? AND id >= ? ORDER BY id DESC LIMIT 1 OFFSET ?',
      [authorId, horizon, String(keep)]
    )
    return rows.length > 0 ? (rows[0].id as number) + 1 : undefined
  }

  async removeAuthor(connection: Queryable, ownerId: number, authorId: number): Promise<void> {
    await connection.execute('DELETE FROM timeline_entries WHERE owner_id = ? AND author_id = ?', [ownerId, authorId])
  }

  /**
   * A page of ownerId's timeline table: tweets with id below `before`, newest first. Each row also
   * carries the owner's timeline state, which saves the hot path a second query. The primary key is
   * forced: left alone, the optimizer prefers the (owner_id, author_id) index and sorts all of the
   * owner's entries to return `limit` of them (O(entries) instead of O(limit)).
   */
  async page(ownerId: number, before: number, limit: number): Promise<TimelinePageRow[]> {
    const [rows] = await this.readPool.execute<(TimelinePageRow & RowDataPacket)[]>(
      `SELECT ${tweetColumns}, o.timeline_horizon, o.pulled_following_count
         FROM timeline_entries e FORCE INDEX (PRIMARY)
         JOIN users o ON o.id = e.owner_id
         JOIN tweets t ON t.id = e.tweet_id
         JOIN users u ON u.id = t.user_id
        WHERE e.owner_id = ? AND e.tweet_id < ?
        ORDER BY e.tweet_id DESC
        LIMIT ?`,
      [ownerId, before, String(limit)]
    )
    return rows
  }

  /** The newest tweets of a few accounts, below `before` — for the 'pull' accounts a user follows. */
  async byAuthors(authorIds: number[], before: number, limit: number): Promise<TweetRow[]> {
    if (authorIds.length === 0) return []
    // One bounded index range per author: each subquery stops after `limit` rows.
    const perAuthor = '(SELECT id FROM tweets WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?)'
    const [rows] = await this.readPool.execute<(TweetRow & RowDataPacket)[]>(
      `SELECT ${tweetColumns}
         FROM (${authorIds.map(() => perAuthor).join(' UNION ALL ')}) recent
         JOIN tweets t ON t.id = recent.id
         JOIN users u ON u.id = t.user_id
        ORDER BY t.id DESC
        LIMIT ?`,
      [...authorIds.flatMap((id) => [id, before, String(limit)]), String(limit)]
    )
    return rows
  }

  /** Reads ownerId's timeline from the follow graph (fan-out on read), for pages older than the horizon. */
  async fromFollowGraph(ownerId: number, before: number, limit: number): Promise<TweetRow[]> {
    const [rows] = await this.readPool.execute<(TweetRow & RowDataPacket)[]>(
      `SELECT ${tweetColumns}
         FROM tweets t
         JOIN users u ON u.id = t.user_id
        WHERE t.id < ?
          AND (t.user_id = ? OR t.user_id IN (SELECT f.follow_user_id FROM users_follow_list f WHERE f.user_id = ?))
        ORDER BY t.id DESC
        LIMIT ?`,
      [before, ownerId, ownerId, String(limit)]
    )
    return rows
  }
}
