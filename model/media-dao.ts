// Media rows and their links to tweets. A row is pending until its object is stored, then ready;
// deleted_at hides it (grace period, or a delete in progress) until purge removes it for good.
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import type { Queryable } from './database.ts'

export type { PoolConnection }

export interface MediaRow {
  id: number
  user_id: number
  storage_key: string
  content_type: string
  size: number
  original_name: string | null
  status: 'pending' | 'ready'
  created_at: Date
  deleted_at: Date | null
}

export interface NewMedia {
  userId: number
  storageKey: string
  contentType: string
  originalName: string | null
  /** Bytes the upload may still take, counted against the user's quota until it is ready. */
  reservedBytes: number
  /** When it expires unless attached to a tweet first; null: never. */
  expiresAt: Date | null
}

/** What purge needs to remove a row and its object. */
export interface StoredMediaRow {
  id: number
  storage_key: string
}

export interface AttachableMediaRow {
  id: number
  /** The tweet it is already attached to, if any. */
  tweet_id: number | null
}

export interface TweetMediaRow {
  tweet_id: number
  position: number
  id: number
  storage_key: string
  content_type: string
  size: number
}

const mediaColumns = 'id, user_id, storage_key, content_type, size, original_name, status, created_at, deleted_at'

export class MediaDao {
  constructor(private readonly pool: Pool) {}

  /**
   * Locks the user's row until the transaction ends, so uploads of one user reserve quota one at a
   * time, and returns the bytes their media hold (pending rows at their reservation, deleted ones until
   * purged). Undefined: no such user.
   */
  async lockStoredBytes(connection: PoolConnection, userId: number): Promise<number | undefined> {
    const [users] = await connection.execute<RowDataPacket[]>('SELECT id FROM users WHERE id = ? FOR UPDATE', [userId])
    if (users.length === 0) return undefined
    const [rows] = await connection.execute<RowDataPacket[]>(
      'SELECT COALESCE(SUM(size), 0) AS used FROM media WHERE user_id = ?',
      [userId]
    )
    return Number(rows[0].used)
  }

  /** Records an upload before its object is written; a missing user surfaces as ER_NO_REFERENCED_ROW_2. */
  async insertPending(connection: Queryable, media: NewMedia): Promise<number> {
    const [result] = await connection.execute<ResultSetHeader>(
      'INSERT INTO media (user_id, storage_key, content_type, original_name, size, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      [media.userId, media.storageKey, media.contentType, media.originalName, media.reservedBytes, media.expiresAt]
    )
    return result.insertId
  }

  /**
   * Sets the stored size, releasing the rest of the reservation. False when the row is no longer
   * pending (purged as stale while its upload ran).
   */
  async markReady(id: number, size: number): Promise<boolean> {
    const [result] = await this.pool.execute<ResultSetHeader>(
      "UPDATE media SET status = 'ready', size = ? WHERE id = ? AND status = 'pending'",
      [size, id]
    )
    return result.affectedRows > 0
  }

  /** The user's media item in whatever state it is; undefined when it is someone else's or unknown. */
  async mediaOf(userId: number, id: number): Promise<MediaRow | undefined> {
    const [rows] = await this.pool.execute<(MediaRow & RowDataPacket)[]>(
      `SELECT ${mediaColumns} FROM media WHERE id = ? AND user_id = ?`,
      [id, userId]
    )
    return rows[0]
  }

  /** The user's ready, undeleted media, newest first, with ids below `before` when given. */
  async readyMedia(userId: number, limit: number, before?: number): Promise<MediaRow[]> {
    const [rows] = await this.pool.execute<(MediaRow & RowDataPacket)[]>(
      `SELECT ${mediaColumns}
         FROM media
        WHERE user_id = ? AND status = 'ready' AND deleted_at IS NULL ${before === undefined ? '' : 'AND id < ?'}
        ORDER BY id DESC
        LIMIT ?`,
      before === undefined ? [userId, String(limit)] : [userId, before, String(limit)]
    )
    return rows
  }

  /** Hides a ready, undeleted item of the user's; false when there is none such. */
  async markDeleted(userId: number, id: number, at: Date): Promise<boolean> {
    const [result] = await this.pool.execute<ResultSetHeader>(
      "UPDATE media SET deleted_at = ? WHERE id = ? AND user_id = ? AND status = 'ready' AND deleted_at IS NULL",
      [at, id, userId]
    )
    return result.affectedRows > 0
  }

  /** Un-hides an item of the user's that was deleted after `deletedAfter`; false when there is none such. */
  async restore(userId: number, id: number, deletedAfter: Date): Promise<boolean> {
    const [result] = await this.pool.execute<ResultSetHeader>(
      'UPDATE media SET deleted_at = NULL WHERE id = ? AND user_id = ? AND deleted_at > ?',
      [id, userId, deletedAfter]
    )
    return result.affectedRows > 0
  }

  /** Removes the row for good, and with it its links to tweets. */
  async deleteMedia(id: number): Promise<boolean> {
    const [result] = await this.pool.execute<ResultSetHeader>('DELETE FROM media WHERE id = ?', [id])
    return result.affectedRows > 0
  }

  /** Pending rows created before `createdBefore`: uploads that died midway. Paged by id. */
  async stalePending(createdBefore: Date, afterId: number, limit: number): Promise<StoredMediaRow[]> {
    const [rows] = await this.pool.execute<(StoredMediaRow & RowDataPacket)[]>(
      `SELECT id, storage_key FROM media
        WHERE status = 'pending' AND created_at < ? AND id > ?
        ORDER BY id
        LIMIT ?`,
      [createdBefore, afterId, String(limit)]
    )
    return rows
  }

  /** Rows deleted at or before `deletedBefore`. Paged by id. */
  async expiredDeleted(deletedBefore: Date, afterId: number, limit: number): Promise<StoredMediaRow[]> {
    const [rows] = await this.pool.execute<(StoredMediaRow & RowDataPacket)[]>(
      `SELECT id, storage_key FROM media
        WHERE deleted_at <= ? AND id > ?
        ORDER BY id
        LIMIT ?`,
      [deletedBefore, afterId, String(limit)]
    )
    return rows
  }

  /**
   * Up to `limit` ready, undeleted rows whose expiry is at or before `now`, locked until the caller's
   * transaction ends; rows another transaction holds (an attach in progress, another purge) are skipped.
   */
  async lockExpired(connection: PoolConnection, now: Date, limit: number): Promise<number[]> {
    const [rows] = await connection.execute<RowDataPacket[]>(
      `SELECT id FROM media
        WHERE expires_at <= ? AND status = 'ready' AND deleted_at IS NULL
        ORDER BY expires_at, id
        LIMIT ?
        FOR UPDATE SKIP LOCKED`,
      [now, String(limit)]
    )
    return rows.map((row) => row.id as number)
  }

  /** Attached media never expire: clears their expiry, in the attaching transaction. */
  async clearExpiry(connection: PoolConnection, ids: number[]): Promise<void> {
    if (ids.length === 0) return
    await connection.query('UPDATE media SET expires_at = NULL WHERE id IN (?)', [ids])
  }

  /** Marks the rows deleted at `at`, in the caller's transaction. */
  async markDeletedIn(connection: PoolConnection, ids: number[], at: Date): Promise<void> {
    if (ids.length === 0) return
    await connection.query('UPDATE media SET deleted_at = ? WHERE id IN (?)', [at, ids])
  }

  /**
   * Of `ids`, the user's ready, undeleted items with the tweet each is already attached to, locked
   * until the caller's transaction ends so a concurrent delete or attach waits for it.
   */
  async attachableMedia(connection: PoolConnection, userId: number, ids: number[]): Promise<AttachableMediaRow[]> {
    if (ids.length === 0) return []
    const [rows] = await connection.query<(AttachableMediaRow & RowDataPacket)[]>(
      `SELECT m.id, tm.tweet_id
         FROM media m
         LEFT JOIN tweet_media tm ON tm.media_id = m.id
        WHERE m.id IN (?) AND m.user_id = ? AND m.status = 'ready' AND m.deleted_at IS NULL
        ORDER BY m.id
        FOR UPDATE`,
      [ids, userId]
    )
    return rows
  }

  /** Links the media to the tweet at positions 0, 1, … in the order given. */
  async insertTweetMedia(connection: PoolConnection, tweetId: number, mediaIds: number[]): Promise<void> {
    if (mediaIds.length === 0) return
    await connection.query('INSERT INTO tweet_media (tweet_id, media_id, position) VALUES ?', [
      mediaIds.map((mediaId, position) => [tweetId, mediaId, position])
    ])
  }

  /** The visible media of each tweet, by tweet and position, in one query. */
  async mediaForTweets(tweetIds: number[]): Promise<TweetMediaRow[]> {
    if (tweetIds.length === 0) return []
    const [rows] = await this.pool.query<(TweetMediaRow & RowDataPacket)[]>(
      `SELECT tm.tweet_id, tm.position, m.id, m.storage_key, m.content_type, m.size
         FROM tweet_media tm
         JOIN media m ON m.id = tm.media_id
        WHERE tm.tweet_id IN (?) AND m.status = 'ready' AND m.deleted_at IS NULL
        ORDER BY tm.tweet_id, tm.position`,
      [tweetIds]
    )
    return rows
  }
}
