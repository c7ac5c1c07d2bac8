// The fan-out outbox: rows written with each post (migrations/004's post_tweet), retweet and undone
// retweet, claimed by workers under a lease and worked through in chunks of followers.
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import type { Queryable } from './database.ts'

/** 'copy': the tweet (or retweet) goes to every follower; 'restore': see TimelineDao.restoreForOwners. */
export type OutboxKind = 'copy' | 'restore'

export interface OutboxRow {
  id: number
  kind: OutboxKind
  /** The tweet or retweet to copy; for 'restore', the tweet whose retweet by author_id was undone. */
  tweet_id: number
  /** The followers of this account are worked through. */
  author_id: number
  /** For a retweet's copy, the tweet it repeats. */
  original_id: number | null
  /** Every follower with a user_id up to this one already has the tweet. */
  done_through: number
  /** How many times the row has been claimed, this claim included. */
  attempts: number
}

export interface BacklogRow {
  pending: number
  /** Milliseconds since the oldest pending row was written (by the database's clock); 0 when none. */
  oldest_age_ms: number
}

export class FanoutDao {
  constructor(private readonly pool: Pool) {}

  /**
   * Locks up to `limit` rows that no live lease holds, oldest first. SKIP LOCKED: workers claiming at
   * the same moment take different rows instead of waiting for each other.
   */
  async claimable(connection: Queryable, limit: number): Promise<OutboxRow[]> {
    const [rows] = await connection.execute<(OutboxRow & RowDataPacket)[]>(
      `SELECT id, kind, tweet_id, author_id, original_id, done_through, attempts + 1 AS attempts
         FROM fanout_outbox
        WHERE claimed_until IS NULL OR claimed_until < NOW(3)
        ORDER BY id
        LIMIT ?
        FOR UPDATE SKIP LOCKED`,
      [String(limit)]
    )
    return rows
  }

  /**
   * Records fan-out work for the worker, in the writer's transaction (a post writes its own through
   * post_tweet): a retweet's copy to the retweeter's followers, or the restore after an undone one.
   */
  async enqueue(
    connection: Queryable,
    kind: OutboxKind,
    tweetId: number,
    authorId: number,
    originalId: number | null = null
  ): Promise<void> {
    await connection.execute('INSERT INTO fanout_outbox (kind, tweet_id, author_id, original_id) VALUES (?, ?, ?, ?)', [
      kind,
      tweetId,
      authorId,
      originalId
    ])
  }

  /** Gives the rows to `workerId` for `leaseMs`. */
  async lease(connection: Queryable, ids: number[], workerId: string, leaseMs: number): Promise<void> {
    if (ids.length === 0) return
    await connection.query(
      `UPDATE fanout_outbox
          SET claimed_by = ?, claimed_until = NOW(3) + INTERVAL ? MICROSECOND, attempts = attempts + 1
        WHERE id IN (?)`,
      [workerId, leaseMs * 1000, ids]
    )
  }

  /**
   * The next followers of authorId after `after`, in user_id order, share-locked: an unfollow of any of
   * them waits until this chunk commits, and then removes what it copied.
   */
  async followerChunk(connection: Queryable, authorId: number, after: number, limit: number): Promise<number[]> {
    const [rows] = await connection.execute<RowDataPacket[]>(
      `SELECT user_id FROM users_follow_list
        WHERE follow_user_id = ? AND user_id > ?
        ORDER BY user_id
        LIMIT ?
        LOCK IN SHARE MODE`,
      [authorId, after, String(limit)]
    )
    return rows.map((row) => row.user_id as number)
  }

  /** Follower counts of the given authors (the users row's counter), to size the work of each row. */
  async followerCounts(authorIds: number[]): Promise<Map<number, number>> {
    if (authorIds.length === 0) return new Map()
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT id, followers_count FROM users WHERE id IN (?)', [
      authorIds
    ])
    return new Map(rows.map((row) => [row.id as number, row.followers_count as number]))
  }

  /**
   * Copies each of the given 'copy' rows' tweets to all of its author's followers in one statement, for
   * rows whose follower counts together fit one chunk. Only rows workerId still holds are copied; follows
   * are share-locked as in followerChunk. Returns the timeline rows written.
   */
  async copyToAllFollowers(connection: Queryable, ids: number[], workerId: string): Promise<number> {
    if (ids.length === 0) return 0
    const [result] = await connection.query<ResultSetHeader>(
      `INSERT IGNORE INTO timeline_entries (owner_id, tweet_id, author_id, original_id)
       SELECT f.user_id, o.tweet_id, o.author_id, o.original_id
         FROM fanout_outbox o JOIN users_follow_list f ON f.follow_user_id = o.author_id
        WHERE o.id IN (?) AND o.claimed_by = ? AND o.kind = 'copy'
        LOCK IN SHARE MODE`,
      [ids, workerId]
    )
    return result.affectedRows
  }

  /** Removes finished rows that workerId still holds; returns how many. */
  async finishMany(connection: Queryable, ids: number[], workerId: string): Promise<number> {
    if (ids.length === 0) return 0
    const [result] = await connection.query<ResultSetHeader>(
      'DELETE FROM fanout_outbox WHERE id IN (?) AND claimed_by = ?',
      [ids, workerId]
    )
    return result.affectedRows
  }

  /** Records progress and renews the lease; false when workerId no longer holds the row. */
  async advance(
    connection: Queryable,
    id: number,
    workerId: string,
    doneThrough: number,
    leaseMs: number
  ): Promise<boolean> {
    const [result] = await connection.execute<ResultSetHeader>(
      `UPDATE fanout_outbox
          SET done_through = ?, claimed_until = NOW(3) + INTERVAL ? MICROSECOND
        WHERE id = ? AND claimed_by = ?`,
      [doneThrough, leaseMs * 1000, id, workerId]
    )
    return result.affectedRows > 0
  }

  /** Removes a finished row; false when workerId no longer holds it (or its tweet was deleted). */
  async finish(connection: Queryable, id: number, workerId: string): Promise<boolean> {
    const [result] = await connection.execute<ResultSetHeader>(
      'DELETE FROM fanout_outbox WHERE id = ? AND claimed_by = ?',
      [id, workerId]
    )
    return result.affectedRows > 0
  }

  async release(workerId: string): Promise<void> {
    await this.pool.execute('UPDATE fanout_outbox SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?', [
      workerId
    ])
  }

  /** Pending rows and the age of the oldest. */
  async backlog(): Promise<BacklogRow> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS pending,
              COALESCE(TIMESTAMPDIFF(MICROSECOND, (SELECT created_at FROM fanout_outbox ORDER BY id LIMIT 1), NOW(3)), 0) DIV 1000
                AS oldest_age_ms
         FROM fanout_outbox`
    )
    return { pending: Number(rows[0].pending), oldest_age_ms: Number(rows[0].oldest_age_ms) }
  }
}
