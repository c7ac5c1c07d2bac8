// Tweets: posting through the post_tweet procedure, reads by id (primary), by ids (row cache) and by author,
// edits and deletes, the links of threads (replies, and the tombstones of deleted ones), and retweets (rows
// of tweets naming the tweet they repeat, never shown as tweets themselves).
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import { orderOf, type IdWindow, type Queryable } from './database.ts'
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
  in_reply_to: number | null
  /** The thread's root, for a reply; null for a tweet that answers none. */
  conversation_id: number | null
  reply_count: number
  /** For a retweet's row, the tweet it repeats; null for a tweet. */
  retweet_of: number | null
  retweet_count: number
  /** The users its text names, as JSON: [{"id", "username"}] in the text's order (migrations/013); or null. */
  mentions: string | null
}

/** What posting returns: enough, with the text the caller already has, to answer without a read-back. */
export interface PostedTweetRow {
  id: number
  created_at: Date
  name: string
  username: string
  profile_picture: string | null
  conversation_id: number | null
}

/** Where a tweet of a thread hangs: its parent, and whether it was deleted (then only its tombstone is left). */
export interface ThreadLinkRow {
  id: number
  in_reply_to: number | null
  deleted: boolean
}

/** A tweet about to be deleted: its author, and what its tombstone keeps when it is a reply. */
export interface DeletionRow {
  user_id: number
  in_reply_to: number | null
  conversation_id: number | null
}

/** What a viewer did to the tweets of a page, and which of its authors are blocked either way or muted. */
export interface ViewerFlags {
  liked: Set<number>
  retweeted: Set<number>
  blocked: Set<number>
  muted: Set<number>
}

/** Thrown by a post whose in_reply_to names no tweet (never posted, or deleted); nothing was written. */
export class ReplyParentMissing extends Error {
  constructor(readonly inReplyTo: number) {
    super(`in_reply_to ${inReplyTo}: no such tweet`)
    this.name = 'ReplyParentMissing'
  }
}

// What migrations/007's post_tweet signals for a parent that does not exist.
const parentMissingMessage = 'in_reply_to: no such tweet'

export const tweetColumns =
  't.id, t.user_id, t.tweet, t.created_at, t.edited_at, t.media_count, t.like_count, t.in_reply_to, t.conversation_id, ' +
  't.reply_count, t.retweet_of, t.retweet_count, t.mentions'

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
   * Records a post in one round trip and its own transaction (post_tweet: migrations/007, 009, 010): the tweet,
   * the author's counter and own timeline entry, the fan-out record and, for a reply, its parent's
   * reply_count. Undefined: no such author. Throws ReplyParentMissing when inReplyTo names no tweet.
   */
  async postTweet(userId: number, tweet: string, inReplyTo: number | null = null): Promise<PostedTweetRow | undefined> {
    return this.callPostTweet(this.pool, userId, tweet, inReplyTo, true)
  }

  /** The same, inside the caller's transaction (a post with media attaches them before committing). */
  async postTweetIn(
    connection: Queryable,
    userId: number,
    tweet: string,
    inReplyTo: number | null = null
  ): Promise<PostedTweetRow | undefined> {
    return this.callPostTweet(connection, userId, tweet, inReplyTo, false)
  }

  private async callPostTweet(
    connection: Queryable,
    userId: number,
    tweet: string,
    inReplyTo: number | null,
    ownTransaction: boolean
  ): Promise<PostedTweetRow | undefined> {
    try {
      // A CALL answers its SELECT's rows first, then the call's own status.
      const [[rows]] = await connection.execute<[(PostedTweetRow & RowDataPacket)[], ResultSetHeader]>(
        'CALL post_tweet(?, ?, ?, ?)',
        [userId, tweet, inReplyTo, ownTransaction]
      )
      return rows[0]
    } catch (error) {
      const { sqlState, sqlMessage } = error as { sqlState?: string; sqlMessage?: string }
      if (inReplyTo !== null && sqlState === '45000' && sqlMessage === parentMissingMessage) {
        throw new ReplyParentMissing(inReplyTo)
      }
      throw error
    }
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
   * Which of `tweetIds` viewerId likes, which of `retweetedIds` (the page's tweets that have any
   * retweets) they retweeted, and which of `authorIds` (the page's authors and retweeters) block them or
   * are blocked by them (and, `withMutes`, which the viewer mutes): one statement for a whole page, one
   * primary-key lookup in likes per tweet, one (retweet_of, user_id) lookup per retweeted one, two in
   * blocks per author (and one in mutes). Reads the primary: they are the viewer's own writes. Nothing to
   * ask, no statement.
   */
  async viewerFlags(
    viewerId: number,
    tweetIds: readonly number[],
    retweetedIds: readonly number[],
    authorIds: readonly number[] = [],
    withMutes = false
  ): Promise<ViewerFlags> {
    const flags: ViewerFlags = { liked: new Set(), retweeted: new Set(), blocked: new Set(), muted: new Set() }
    // Forced indexes: on its own the optimizer may walk all of the viewer's likes or retweets, or all of
    // the tweets' likers.
    const parts: string[] = []
    const values: unknown[] = []
    if (tweetIds.length > 0) {
      parts.push(
        'SELECT 0 AS kind, tweet_id AS id FROM likes FORCE INDEX (PRIMARY) WHERE user_id = ? AND tweet_id IN (?)'
      )
      values.push(viewerId, tweetIds)
    }
    if (retweetedIds.length > 0) {
      parts.push(
        'SELECT 1 AS kind, retweet_of AS id FROM tweets FORCE INDEX (tweets_retweet) WHERE retweet_of IN (?) AND user_id = ?'
      )
      values.push(retweetedIds, viewerId)
    }
    if (authorIds.length > 0) {
      parts.push(
        'SELECT 2 AS kind, blocked_id AS id FROM blocks WHERE user_id = ? AND blocked_id IN (?)',
        'SELECT 2 AS kind, user_id AS id FROM blocks FORCE INDEX (blocks_blocked) WHERE blocked_id = ? AND user_id IN (?)'
      )
      values.push(viewerId, authorIds, viewerId, authorIds)
      if (withMutes) {
        parts.push('SELECT 3 AS kind, muted_id AS id FROM mutes WHERE user_id = ? AND muted_id IN (?)')
        values.push(viewerId, authorIds)
      }
    }
    if (parts.length === 0) return flags
    const [rows] = await this.pool.query<RowDataPacket[]>(parts.join(' UNION ALL '), values)
    const sets = [flags.liked, flags.retweeted, flags.blocked, flags.muted]
    for (const row of rows) sets[row.kind as number].add(row.id as number)
    return flags
  }

  /**
   * For the live stream: which of `viewerIds` like the tweet, retweeted it, and have it hidden from them (a
   * block either way with one of `authorIds`, the tweet's author and retweeter, or a mute of one). One
   * statement for all the viewers; reads the primary, like viewerFlags.
   */
  async viewersFlags(
    viewerIds: readonly number[],
    tweetId: number,
    authorIds: readonly number[]
  ): Promise<{ liked: Set<number>; retweeted: Set<number>; hidden: Set<number> }> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT 0 AS kind, user_id AS id FROM likes WHERE user_id IN (?) AND tweet_id = ?
       UNION ALL SELECT 1, user_id FROM tweets FORCE INDEX (tweets_retweet) WHERE retweet_of = ? AND user_id IN (?)
       UNION ALL SELECT 2, user_id FROM blocks WHERE user_id IN (?) AND blocked_id IN (?)
       UNION ALL SELECT 2, blocked_id FROM blocks WHERE user_id IN (?) AND blocked_id IN (?)
       UNION ALL SELECT 2, user_id FROM mutes WHERE user_id IN (?) AND muted_id IN (?)`,
      [viewerIds, tweetId, tweetId, viewerIds, viewerIds, authorIds, authorIds, viewerIds, viewerIds, authorIds]
    )
    const flags = { liked: new Set<number>(), retweeted: new Set<number>(), hidden: new Set<number>() }
    const sets = [flags.liked, flags.retweeted, flags.hidden]
    for (const row of rows) sets[row.kind as number].add(row.id as number)
    return flags
  }

  /** The author and thread links of a tweet about to be deleted, read under a row lock. */
  async lockForDelete(connection: Queryable, id: number): Promise<DeletionRow | undefined> {
    const [rows] = await connection.execute<(DeletionRow & RowDataPacket)[]>(
      'SELECT user_id, in_reply_to, conversation_id FROM tweets WHERE id = ? AND retweet_of IS NULL FOR UPDATE',
      [id]
    )
    return (
      rows[0] && {
        user_id: rows[0].user_id,
        in_reply_to: rows[0].in_reply_to,
        conversation_id: rows[0].conversation_id
      }
    )
  }

  /** A new text, and the users it names (TweetRow.mentions; null for none). */
  async updateTweet(connection: Queryable, id: number, tweet: string, mentions: string | null): Promise<void> {
    await connection.execute(
      'UPDATE tweets SET tweet = ?, mentions = ?, edited_at = CURRENT_TIMESTAMP(3) WHERE id = ?',
      [tweet, mentions, id]
    )
  }

  /** Records the users a just posted tweet names (TweetRow.mentions), in its post's transaction. */
  async setMentions(connection: Queryable, id: number, mentions: string): Promise<void> {
    await connection.execute('UPDATE tweets SET mentions = ? WHERE id = ?', [mentions, id])
  }

  /** Deletes the tweet; its timeline entries and media links go with it (foreign keys cascade), its replies stay. */
  async deleteTweet(connection: Queryable, id: number): Promise<void> {
    await connection.execute('DELETE FROM tweets WHERE id = ?', [id])
  }

  /** Moves a tweet's count of live direct replies; a tweet that no longer exists is left as it is. */
  async addReplyCount(connection: Queryable, id: number, delta: number): Promise<void> {
    await connection.execute('UPDATE tweets SET reply_count = reply_count + ? WHERE id = ?', [delta, id])
  }

  /** Keeps where a deleted reply hung in its thread (migrations/007). */
  async addTombstone(connection: Queryable, id: number, inReplyTo: number, conversationId: number): Promise<void> {
    await connection.execute('INSERT INTO tweet_tombstones (id, in_reply_to, conversation_id) VALUES (?, ?, ?)', [
      id,
      inReplyTo,
      conversationId
    ])
  }

  /**
   * The chain of parents above a tweet, starting from its parent `parentId` and going up at most `max`
   * steps, oldest first: one primary-key lookup per step in tweets and in tweet_tombstones. A deleted
   * tweet without a tombstone (a deleted root) ends the chain.
   */
  async ancestors(parentId: number, max: number): Promise<ThreadLinkRow[]> {
    const [rows] = await this.readPool.execute<RowDataPacket[]>(
      `WITH RECURSIVE chain (id, in_reply_to, live, hops) AS (
         SELECT c.id, COALESCE(t.in_reply_to, d.in_reply_to), t.id IS NOT NULL, 1
           FROM (SELECT CAST(? AS UNSIGNED) AS id) c
           LEFT JOIN tweets t ON t.id = c.id
           LEFT JOIN tweet_tombstones d ON d.id = c.id
         UNION ALL
         SELECT c.in_reply_to, COALESCE(t.in_reply_to, d.in_reply_to), t.id IS NOT NULL, c.hops + 1
           FROM chain c
           LEFT JOIN tweets t ON t.id = c.in_reply_to
           LEFT JOIN tweet_tombstones d ON d.id = c.in_reply_to
          WHERE c.in_reply_to IS NOT NULL AND c.hops < ?
       )
       SELECT id, in_reply_to, live FROM chain ORDER BY hops DESC`,
      [parentId, max]
    )
    return rows.map(toLink)
  }

  /**
   * The oldest `limit` tweets of a conversation with ids above `afterId`, live or deleted, with their
   * parents: one range of each table's (conversation_id, id, in_reply_to) index, read from the index alone.
   */
  async conversationAfter(conversationId: number, afterId: number, limit: number): Promise<ThreadLinkRow[]> {
    const [rows] = await this.readPool.execute<RowDataPacket[]>(
      `(SELECT id, in_reply_to, 1 AS live FROM tweets FORCE INDEX (tweets_conversation)
         WHERE conversation_id = ? AND id > ? ORDER BY id LIMIT ?)
       UNION ALL
       (SELECT id, in_reply_to, 0 AS live FROM tweet_tombstones FORCE INDEX (tweet_tombstones_conversation)
         WHERE conversation_id = ? AND id > ? ORDER BY id LIMIT ?)
       ORDER BY id LIMIT ?`,
      [conversationId, afterId, String(limit), conversationId, afterId, String(limit), String(limit)]
    )
    return rows.map(toLink)
  }

  /**
   * An author's tweets (replies included, retweets not) with ids in the window, newest first (or oldest
   * first from `after`): one range of the (user_id, id) index, which is forced for the reason given in
   * timeline-dao.ts (perAuthorRange). The author's retweets in that range are read and skipped.
   */
  async tweetsByAuthor(userId: number, window: IdWindow, limit: number): Promise<TweetRow[]> {
    const [rows] = await this.readPool.execute<(TweetRow & RowDataPacket)[]>(
      `SELECT ${tweetColumns} FROM tweets t FORCE INDEX (tweets_user_id)
        WHERE t.user_id = ? AND t.id > ? AND t.id < ? AND t.retweet_of IS NULL
        ORDER BY t.id ${orderOf(window)}
        LIMIT ?`,
      [userId, window.after, window.before, String(limit)]
    )
    return rows
  }

  async addMediaCount(connection: Queryable, id: number, count: number): Promise<void> {
    await connection.execute('UPDATE tweets SET media_count = media_count + ? WHERE id = ?', [count, id])
  }

  /** Up to `limit` of the tweets userId retweeted, in id order (the erasure of a deleted account). */
  async retweetedIds(userId: number, limit: number): Promise<number[]> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(
      `SELECT retweet_of FROM tweets FORCE INDEX (tweets_user_id)
        WHERE user_id = ? AND retweet_of IS NOT NULL ORDER BY id LIMIT ?`,
      [userId, String(limit)]
    )
    return rows.map((row) => row.retweet_of as number)
  }

  /** Up to `limit` of userId's own tweets (not retweets), newest first: replies go before what they answer. */
  async newestIdsBy(userId: number, limit: number): Promise<number[]> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(
      `SELECT id FROM tweets FORCE INDEX (tweets_user_id)
        WHERE user_id = ? AND retweet_of IS NULL ORDER BY id DESC LIMIT ?`,
      [userId, String(limit)]
    )
    return rows.map((row) => row.id as number)
  }
}

function toLink(row: RowDataPacket): ThreadLinkRow {
  return {
    id: Number(row.id),
    in_reply_to: row.in_reply_to === null ? null : Number(row.in_reply_to),
    deleted: !row.live
  }
}
