// Likes: the likes table and tweets.like_count, the caller's flags for a page, and the two lists (a tweet's
// likers, a user's liked tweets), both newest like first by the like's id.
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import { orderOf, type IdWindow, type Queryable } from './database.ts'
import { liveUser, type UserSummaryRow } from './user-dao.ts'

/** Someone who liked a tweet, with the id of the like (the list's cursor). */
export interface LikerRow extends UserSummaryRow {
  like_id: number
}

/** A tweet someone liked, with the id of the like (the list's cursor). */
export interface LikedTweetRow {
  like_id: number
  tweet_id: number
}

export class LikeDao {
  /** Lists are read from `readPool` (a replica, if set); writes run on the caller's connection. */
  constructor(private readonly readPool: Pool) {}

  /**
   * Locks the tweet's row; false when there is no such tweet. Every like and unlike of a tweet takes it
   * first, so they take turns on its counter, and a delete of the tweet waits for them or they for it.
   * Without it, two likes would each share-lock the row (the foreign key check) and then both ask to
   * write it (the counter): a deadlock.
   */
  async lockTweet(connection: Queryable, tweetId: number): Promise<boolean> {
    const [rows] = await connection.execute<RowDataPacket[]>(
      'SELECT id FROM tweets WHERE id = ? AND retweet_of IS NULL FOR UPDATE',
      [tweetId]
    )
    return rows.length > 0
  }

  /** Idempotent: liking twice leaves one row. Returns true when a row was added. */
  async like(connection: Queryable, userId: number, tweetId: number): Promise<boolean> {
    const [result] = await connection.execute<ResultSetHeader>(
      'INSERT IGNORE INTO likes (user_id, tweet_id) VALUES (?, ?)',
      [userId, tweetId]
    )
    return result.affectedRows > 0
  }

  /** Idempotent: returns true when a row was removed. */
  async unlike(connection: Queryable, userId: number, tweetId: number): Promise<boolean> {
    const [result] = await connection.execute<ResultSetHeader>('DELETE FROM likes WHERE user_id = ? AND tweet_id = ?', [
      userId,
      tweetId
    ])
    return result.affectedRows > 0
  }

  /** Moves the tweet's counter by delta (+1 on a new like, -1 on a removed one). */
  async addLikeCount(connection: Queryable, tweetId: number, delta: number): Promise<void> {
    await connection.execute('UPDATE tweets SET like_count = like_count + ? WHERE id = ?', [delta, tweetId])
  }

  /** Users who like tweetId, by like id in the window (newest first, or oldest first from `after`). */
  async likers(tweetId: number, window: IdWindow, limit: number): Promise<LikerRow[]> {
    const [rows] = await this.readPool.execute<(LikerRow & RowDataPacket)[]>(
      `SELECT l.id AS like_id, u.id, u.name, u.username, u.profile, u.profile_picture
         FROM likes l FORCE INDEX (likes_tweet_newest) JOIN users u ON u.id = l.user_id AND u.${liveUser}
        WHERE l.tweet_id = ? AND l.id > ? AND l.id < ?
        ORDER BY l.id ${orderOf(window)}
        LIMIT ?`,
      [tweetId, window.after, window.before, String(limit)]
    )
    return rows
  }

  /** Tweets userId likes, by like id in the window (newest first, or oldest first from `after`). */
  async likedTweets(userId: number, window: IdWindow, limit: number): Promise<LikedTweetRow[]> {
    // Forced: the primary key (user_id, tweet_id) also starts with user_id, but its order is not the likes'.
    const [rows] = await this.readPool.execute<(LikedTweetRow & RowDataPacket)[]>(
      `SELECT id AS like_id, tweet_id
         FROM likes FORCE INDEX (likes_user_newest)
        WHERE user_id = ? AND id > ? AND id < ?
        ORDER BY id ${orderOf(window)}
        LIMIT ?`,
      [userId, window.after, window.before, String(limit)]
    )
    return rows
  }

  /** Up to `limit` of the tweets userId likes, in id order (the erasure of a deleted account). */
  async likedTweetIds(connection: Queryable, userId: number, limit: number): Promise<number[]> {
    const [rows] = await connection.execute<RowDataPacket[]>(
      'SELECT tweet_id FROM likes WHERE user_id = ? ORDER BY tweet_id LIMIT ?',
      [userId, String(limit)]
    )
    return rows.map((row) => row.tweet_id as number)
  }
}
