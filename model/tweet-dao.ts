// Tweets: posting through the post_tweet procedure, reads by id (primary) and by ids (row cache), edits and
// deletes, and retweets (rows of tweets naming the tweet they repeat, never shown as tweets themselves).
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
  /** For a retweet's row, the tweet it repeats; null for a tweet. */
  retweet_of: number | null
  retweet_count: number
}

/** What posting returns: enough, with the text the caller already has, to answer without a read-back. */
export interface PostedTweetRow {
  id: number
  created_at: Date
  name: string
  profile_picture: string | null
}

export const tweetColumns =
  't.id, t.user_id, t.tweet, t.created_at, t.edited_at, t.media_count, t.retweet_of, t.retweet_count'

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

  /** One tweet, read from the primary: its author sees an edit at once. A retweet's row is no tweet. */
  async tweetById(id: number): Promise<TweetRow | undefined> {
    const [rows] = await this.pool.execute<(TweetRow & RowDataPacket)[]>(
      `SELECT ${tweetColumns} FROM tweets t WHERE t.id = ? AND t.retweet_of IS NULL`,
      [id]
    )
    return rows[0]
  }

  /** The author's id, read under a row lock so an edit or delete cannot race another (a retweet's row: none). */
  async authorForUpdate(connection: Queryable, id: number): Promise<number | undefined> {
    const [rows] = await connection.execute<RowDataPacket[]>(
      'SELECT user_id FROM tweets WHERE id = ? AND retweet_of IS NULL FOR UPDATE',
      [id]
    )
    return rows[0]?.user_id as number | undefined
  }

  /**
   * Locks a tweet (not a retweet's row) that is about to be retweeted or unretweeted; false when there is
   * none. Every retweet and unretweet of a tweet takes it first, so they take turns on its counter, and a
   * delete of the tweet waits for them or they for it.
   */
  async lockRetweetable(connection: Queryable, id: number): Promise<boolean> {
    const [rows] = await connection.execute<RowDataPacket[]>(
      'SELECT id FROM tweets WHERE id = ? AND retweet_of IS NULL FOR UPDATE',
      [id]
    )
    return rows.length > 0
  }

  /** Idempotent: the id of the retweet's new row, or undefined when userId had already retweeted it. */
  async addRetweet(connection: Queryable, userId: number, tweetId: number): Promise<number | undefined> {
    const [result] = await connection.execute<ResultSetHeader>(
      "INSERT IGNORE INTO tweets (user_id, tweet, created_at, retweet_of) VALUES (?, '', NOW(3), ?)",
      [userId, tweetId]
    )
    return result.affectedRows > 0 ? result.insertId : undefined
  }

  /** Idempotent: true when a retweet was removed (its timeline entries and fan-out row go with it). */
  async removeRetweet(connection: Queryable, userId: number, tweetId: number): Promise<boolean> {
    const [result] = await connection.execute<ResultSetHeader>(
      'DELETE FROM tweets WHERE retweet_of = ? AND user_id = ?',
      [tweetId, userId]
    )
    return result.affectedRows > 0
  }

  /** Moves the tweet's counter by delta (+1 on a new retweet, -1 on a removed one). */
  async addRetweetCount(connection: Queryable, id: number, delta: number): Promise<void> {
    await connection.execute('UPDATE tweets SET retweet_count = retweet_count + ? WHERE id = ?', [delta, id])
  }

  /**
   * Which of these tweets userId has retweeted: one statement for a whole page, one lookup per tweet in
   * the (retweet_of, user_id) key. Reads the primary: they are the caller's own writes.
   */
  async retweetedAmong(userId: number, tweetIds: readonly number[]): Promise<Set<number>> {
    if (tweetIds.length === 0) return new Set()
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT retweet_of FROM tweets FORCE INDEX (tweets_retweet) WHERE user_id = ? AND retweet_of IN (?)',
      [userId, tweetIds]
    )
    return new Set(rows.map((row) => row.retweet_of as number))
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
