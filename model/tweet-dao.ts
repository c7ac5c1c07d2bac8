import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import type { Queryable } from './database.ts'

/** A tweet with the author fields every API shape of a tweet carries. */
export interface TweetRow {
  id: number
  user_id: number
  tweet: string
  created_at: Date
  edited_at: Date | null
  media_count: number
  name: string
  profile_picture: string | null
}

export const tweetColumns =
  't.id, t.user_id, t.tweet, t.created_at, t.edited_at, t.media_count, u.name, u.profile_picture'

export class TweetDao {
  constructor(private readonly pool: Pool) {}

  async insertTweet(connection: Queryable, userId: number, tweet: string): Promise<number> {
    const [result] = await connection.execute<ResultSetHeader>('INSERT INTO tweets (user_id, tweet) VALUES (?, ?)', [
      userId,
      tweet
    ])
    return result.insertId
  }

  async tweetById(id: number, connection: Queryable = this.pool): Promise<TweetRow | undefined> {
    const [rows] = await connection.execute<(TweetRow & RowDataPacket)[]>(
      `SELECT ${tweetColumns} FROM tweets t JOIN users u ON u.id = t.user_id WHERE t.id = ?`,
      [id]
    )
    return rows[0]
  }

  /** The author's id, read under a row lock so an edit or delete cannot race another. */
  async authorForUpdate(connection: Queryable, id: number): Promise<number | undefined> {
    const [rows] = await connection.execute<RowDataPacket[]>('SELECT user_id FROM tweets WHERE id = ? FOR UPDATE', [id])
    return rows[0]?.user_id as number | undefined
  }

  async updateTweet(connection: Queryable, id: number, tweet: string): Promise<void> {
    await connection.execute('UPDATE tweets SET tweet = ?, edited_at = CURRENT_TIMESTAMP(3) WHERE id = ?', [tweet, id])
  }

  /** Deletes the tweet; its timeline entries and media links go with it (foreign keys cascade). */
  async deleteTweet(connection: Queryable, id: number): Promise<void> {
    await connection.execute('DELETE FROM tweets WHERE id = ?', [id])
  }

  async addMediaCount(connection: Queryable, id: number, count: number): Promise<void> {
    await connection.execute('UPDATE tweets SET media_count = media_count + ? WHERE id = ?', [count, id])
  }
}
