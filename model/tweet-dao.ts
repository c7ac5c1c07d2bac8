import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise'

export interface TweetRow {
  id: number
  user_id: number
  tweet: string
  created_at: Date
}

export class TweetDao {
  constructor(private readonly pool: Pool) {}

  async insertTweet(userId: number, tweet: string): Promise<number> {
    const [result] = await this.pool.execute<ResultSetHeader>('INSERT INTO tweets (user_id, tweet) VALUES (?, ?)', [
      userId,
      tweet
    ])
    return result.insertId
  }

  async tweetById(id: number): Promise<TweetRow | undefined> {
    const [rows] = await this.pool.execute<(TweetRow & RowDataPacket)[]>(
      'SELECT id, user_id, tweet, created_at FROM tweets WHERE id = ?',
      [id]
    )
    return rows[0]
  }

  /** The user's own tweets and those of everyone they follow, each once, newest first. */
  async timeline(userId: number, limit: number): Promise<TweetRow[]> {
    const [rows] = await this.pool.execute<(TweetRow & RowDataPacket)[]>(
      `SELECT t.id, t.user_id, t.tweet, t.created_at
         FROM tweets t
        WHERE t.user_id = ?
           OR t.user_id IN (SELECT f.follow_user_id FROM users_follow_list f WHERE f.user_id = ?)
        ORDER BY t.id DESC
        LIMIT ?`,
      [userId, userId, String(limit)]
    )
    return rows
  }
}
