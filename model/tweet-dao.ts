// Tweets: posting through the post_tweet procedure, reads by id (primary) and by ids (row cache), edits and deletes.
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import type { Queryable } from './database.ts'
import { RowCache, type RowCacheOptions } from './row-cache.ts'

/** A tweet's own row; its author's name and picture come from UserDao.authors. */
export interface TweetRow {
  id: number
  user_id: number
  tweet: string
  created_at: Date
  edited_at: Date | null
  media_count: number
  like_count: number
}

/** What posting returns: enough, with the text the caller already has, to answer without a read-back. */
export interface PostedTweetRow {
  id: number
  created_at: Date
  name: string
  profile_picture: string | null
}

export const tweetColumns = 't.id, t.user_id, t.tweet, t.created_at, t.edited_at, t.media_count, t.like_count'

/** Entries of the tweet cache: at most about 100 MiB of 300-character texts, typically a fifth of it. */
export const tweetCacheEntries = 100_000

export class TweetDao {
  private readonly cache: RowCache<TweetRow>

  /** Timeline reads of tweets go to `readPool` (a replica when DATABASE_READ_URL is set). */
  constructor(
    private readonly pool: Pool,
    private readonly readPool: Pool = pool,
    // Without options every tweet is read every time (the app passes READ_CACHE_TTL_MS).
    cache: RowCacheOptions = { ttlMs: 0, maxEntries: tweetCacheEntries }
  ) {
    this.cache = new RowCache<TweetRow>(async (ids) => {
      const [rows] = await this.readPool.query<(TweetRow & RowDataPacket)[]>(
        `SELECT ${tweetColumns} FROM tweets t WHERE t.id IN (?)`,
        [ids]
      )
      return rows
    }, cache)
  }

  /** The tweets of a timeline page (model/row-cache.ts); an id with no tweet (deleted meanwhile) is absent. */
  tweetsByIds(ids: readonly number[]): Promise<Map<number, TweetRow>> {
    return this.cache.byIds(ids)
  }

  /** A tweet as its post has just written it, for its followers' pages. */
  rememberTweet(row: TweetRow): void {
    this.cache.remember(row)
  }

  /** A tweet the caller has just edited or deleted, once its transaction committed. */
  forgetTweet(id: number): void {
    this.cache.forget(id)
  }

  /** Resolves once a background refresh of old tweets has finished. */
  tweetsSettled(): Promise<void> {
    return this.cache.settled()
  }

  /**
   * Records a post in one round trip and its own transaction (migrations/004's post_tweet): the tweet,
   * the author's counter and own timeline entry, and the fan-out record. Undefined: no such author.
   */
  async postTweet(userId: number, tweet: string): Promise<PostedTweetRow | undefined> {
    return this.callPostTweet(this.pool, userId, tweet, true)
  }

  /** The same, inside the caller's transaction (a post with media attaches them before committing). */
  async postTweetIn(connection: Queryable, userId: number, tweet: string): Promise<PostedTweetRow | undefined> {
    return this.callPostTweet(connection, userId, tweet, false)
  }

  private async callPostTweet(
    connection: Queryable,
    userId: number,
    tweet: string,
    ownTransaction: boolean
  ): Promise<PostedTweetRow | undefined> {
    // A CALL answers its SELECT's rows first, then the call's own status.
    const [[rows]] = await connection.execute<[(PostedTweetRow & RowDataPacket)[], ResultSetHeader]>(
      'CALL post_tweet(?, ?, ?)',
      [userId, tweet, ownTransaction]
    )
    return rows[0]
  }

  /** One tweet, read from the primary: its author sees an edit at once. */
  async tweetById(id: number): Promise<TweetRow | undefined> {
    const [rows] = await this.pool.execute<(TweetRow & RowDataPacket)[]>(
      `SELECT ${tweetColumns} FROM tweets t WHERE t.id = ?`,
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
