// The home timeline: timeline_entries holds, per user, the ids of the tweets on their timeline
// (their own and their followees', and retweets of them), written when a tweet is posted, so a page is one
// range read. An entry shows its tweet or, for a retweet, the retweeted tweet: never two the same.
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import { orderOf, type IdWindow, type Queryable } from './database.ts'
import { tweetColumns, type TweetRow } from './tweet-dao.ts'
import { liveUser, type TimelineStateRow } from './user-dao.ts'

/**
 * A row of a timeline: the id of a tweet or of a retweet's row (its place and its cursor), that row's
 * author, and for a retweet the tweet it repeats (what it shows).
 */
export interface TimelineRow {
  id: number
  user_id: number
  retweet_of: number | null
}

/** An entry of a timeline page, with the owner's timeline state. */
export type TimelineEntryRow = TimelineRow & TimelineStateRow

/** An account's tweets with ids above `after` and below `before`. */
export interface AuthorRange {
  author_id: number
  after: number
  before: number
}

/** An account's newest (or oldest) tweet in a range. */
export interface AuthorHeadRow {
  id: number
  user_id: number
}

/** ownerId's timeline_entries lack author_id's tweets with ids below below_id. */
export interface GapRow {
  author_id: number
  below_id: number
}

export class TimelineDao {
  /** Reads go to `readPool` (a replica when DATABASE_READ_URL is set); writes take a connection. */
  constructor(private readonly readPool: Pool) {}

  /**
   * Copies a tweet (or a retweet of `originalId`) into the given timelines; a timeline that already shows
   * that tweet, through this entry or another, is left as it is.
   */
  async addToTimelines(
    connection: Queryable,
    tweetId: number,
    authorId: number,
    ownerIds: number[],
    originalId: number | null = null
  ): Promise<number> {
    if (ownerIds.length === 0) return 0
    const [result] = await connection.query<ResultSetHeader>(
      'INSERT IGNORE INTO timeline_entries (owner_id, tweet_id, author_id, original_id) VALUES ?',
      [ownerIds.map((ownerId) => [ownerId, tweetId, authorId, originalId])]
    )
    return result.affectedRows
  }

  /**
   * Copies the newest `keep` tweets of authorId into ownerId's timeline, after a follow. When older
   * ones were left out, returns the id below which they are missing (the gap to record).
   */
  async backfill(connection: Queryable, ownerId: number, authorId: number, keep: number): Promise<number | undefined> {
    await connection.execute(
      `INSERT IGNORE INTO timeline_entries (owner_id, tweet_id, author_id, original_id)
       SELECT ?, id, user_id, retweet_of FROM tweets WHERE user_id = ? ORDER BY id DESC LIMIT ?`,
      [ownerId, authorId, String(keep)]
    )
    const [rows] = await connection.execute<RowDataPacket[]>(
      'SELECT id FROM tweets WHERE user_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?',
      [authorId, String(keep)]
    )
    return rows.length > 0 ? (rows[0].id as number) + 1 : undefined
  }

  /** Records that ownerId's timeline lacks authorId's tweets below belowId, and raises the horizon. */
  async addGap(connection: Queryable, ownerId: number, authorId: number, belowId: number): Promise<void> {
    await connection.execute(
      `INSERT INTO timeline_gaps (owner_id, author_id, below_id) VALUES (?, ?, ?)
       ON DUPLICATE KEY UPDATE below_id = ?`,
      [ownerId, authorId, belowId, belowId]
    )
    await this.resetHorizon(connection, ownerId)
  }

  /** What authorId's entries in ownerId's timeline show (tweets, and the tweets its retweets repeat). */
  async shownBy(connection: Queryable, ownerId: number, authorId: number): Promise<number[]> {
    const [rows] = await connection.execute<RowDataPacket[]>(
      'SELECT shown_id FROM timeline_entries WHERE owner_id = ? AND author_id = ?',
      [ownerId, authorId]
    )
    return rows.map((row) => row.shown_id as number)
  }

  /**
   * Gives each of these timelines back an entry for `tweetId` if it no longer shows it but still has a
   * reason to (after an undone retweet took the entry that showed it): the tweet itself when the owner
   * follows its author, else the owner's own retweet of it, else a followee's (the first of these an
   * INSERT IGNORE keeps). Only 'push' accounts' tweets and retweets, as fan-out copies them. Follows are
   * share-locked as in FanoutDao.followerChunk: an unfollow waits, then removes what this wrote. Read
   * from the owners' side: O(owners + their followees) index lookups, however often the tweet was
   * retweeted.
   */
  async restoreForOwners(connection: Queryable, ownerIds: readonly number[], tweetId: number): Promise<number> {
    let restored = 0
    for (let start = 0; start < ownerIds.length; start += ownersPerStatement) {
      const owners = ownerIds.slice(start, start + ownersPerStatement)
      const statements: [string, unknown[]][] = [
        [
          `INSERT IGNORE INTO timeline_entries (owner_id, tweet_id, author_id)
           SELECT STRAIGHT_JOIN f.user_id, t.id, t.user_id
             FROM tweets t
             JOIN users a ON a.id = t.user_id
             JOIN users_follow_list f ON f.user_id IN (?) AND f.follow_user_id = t.user_id
            WHERE t.id = ? AND t.retweet_of IS NULL AND a.fanout = 'push'
           LOCK IN SHARE MODE`,
          [owners, tweetId]
        ],
        [
          `INSERT IGNORE INTO timeline_entries (owner_id, tweet_id, author_id, original_id)
           SELECT r.user_id, r.id, r.user_id, r.retweet_of FROM tweets r WHERE r.retweet_of = ? AND r.user_id IN (?)`,
          [tweetId, owners]
        ],
        [
          `INSERT IGNORE INTO timeline_entries (owner_id, tweet_id, author_id, original_id)
           SELECT STRAIGHT_JOIN f.user_id, r.id, r.user_id, r.retweet_of
             FROM users_follow_list f FORCE INDEX (PRIMARY)
             JOIN tweets r ON r.retweet_of = ? AND r.user_id = f.follow_user_id
             JOIN users a ON a.id = r.user_id
            WHERE f.user_id IN (?) AND a.fanout = 'push'
           LOCK IN SHARE MODE`,
          [tweetId, owners]
        ]
      ]
      for (const [sql, params] of statements) {
        const [result] = await connection.query<ResultSetHeader>(sql, params)
        restored += result.affectedRows
      }
    }
    return restored
  }

  /**
   * The same for one owner and many tweets (after an unfollow took the entries that showed them). The
   * followees' retweets of each tweet are looked up from whichever side is smaller, the tweet's
   * retweets or the owner's follows: O(tweets + the sum over them of min(retweets, followees)).
   */
  async restoreForOwner(connection: Queryable, ownerId: number, tweetIds: readonly number[]): Promise<number> {
    let restored = 0
    for (let start = 0; start < tweetIds.length; start += tweetsPerStatement) {
      const ids = tweetIds.slice(start, start + tweetsPerStatement)
      const [originals] = await connection.query<ResultSetHeader>(
        `INSERT IGNORE INTO timeline_entries (owner_id, tweet_id, author_id)
         SELECT STRAIGHT_JOIN f.user_id, t.id, t.user_id
           FROM tweets t
           JOIN users a ON a.id = t.user_id
           JOIN users_follow_list f ON f.user_id = ? AND f.follow_user_id = t.user_id
          WHERE t.id IN (?) AND t.retweet_of IS NULL AND a.fanout = 'push'
         LOCK IN SHARE MODE`,
        [ownerId, ids]
      )
      restored += originals.affectedRows
      const [counts] = await connection.query<RowDataPacket[]>(
        `SELECT t.id, t.retweet_count <= u.following_count AS by_retweets
           FROM tweets t JOIN users u ON u.id = ?
          WHERE t.id IN (?) AND t.retweet_count > 0`,
        [ownerId, ids]
      )
      if (counts.length === 0) continue
      const retweeted = counts.map((row) => row.id as number)
      const byRetweets = counts.filter((row) => Number(row.by_retweets) === 1).map((row) => row.id as number)
      const byFollows = counts.filter((row) => Number(row.by_retweets) !== 1).map((row) => row.id as number)
      const statements: [string, unknown[]][] = [
        [
          `INSERT IGNORE INTO timeline_entries (owner_id, tweet_id, author_id, original_id)
           SELECT r.user_id, r.id, r.user_id, r.retweet_of FROM tweets r WHERE r.retweet_of IN (?) AND r.user_id = ?`,
          [retweeted, ownerId]
        ]
      ]
      if (byRetweets.length > 0) {
        statements.push([
          `INSERT IGNORE INTO timeline_entries (owner_id, tweet_id, author_id, original_id)
           SELECT STRAIGHT_JOIN f.user_id, r.id, r.user_id, r.retweet_of
             FROM tweets r FORCE INDEX (tweets_retweet)
             JOIN users_follow_list f ON f.user_id = ? AND f.follow_user_id = r.user_id
             JOIN users a ON a.id = r.user_id
            WHERE r.retweet_of IN (?) AND a.fanout = 'push'
           LOCK IN SHARE MODE`,
          [ownerId, byRetweets]
        ])
      }
      if (byFollows.length > 0) {
        statements.push([
          `INSERT IGNORE INTO timeline_entries (owner_id, tweet_id, author_id, original_id)
           SELECT STRAIGHT_JOIN f.user_id, r.id, r.user_id, r.retweet_of
             FROM users_follow_list f FORCE INDEX (PRIMARY)
             JOIN tweets r ON r.retweet_of IN (?) AND r.user_id = f.follow_user_id
             JOIN users a ON a.id = r.user_id
            WHERE f.user_id = ? AND a.fanout = 'push'
           LOCK IN SHARE MODE`,
          [byFollows, ownerId]
        ])
      }
      for (const [sql, params] of statements) {
        const [result] = await connection.query<ResultSetHeader>(sql, params)
        restored += result.affectedRows
      }
    }
    return restored
  }

  /** Takes authorId off ownerId's timeline: its entries, and its gap (lowering the horizon it held up). */
  async removeAuthor(connection: Queryable, ownerId: number, authorId: number): Promise<void> {
    await connection.execute('DELETE FROM timeline_entries WHERE owner_id = ? AND author_id = ?', [ownerId, authorId])
    const [result] = await connection.execute<ResultSetHeader>(
      'DELETE FROM timeline_gaps WHERE owner_id = ? AND author_id = ?',
      [ownerId, authorId]
    )
    if (result.affectedRows > 0) await this.resetHorizon(connection, ownerId)
  }

  /** The horizon is the highest gap: above it the table is complete and a page needs nothing else. */
  private async resetHorizon(connection: Queryable, ownerId: number): Promise<void> {
    await connection.execute(
      `UPDATE users SET timeline_horizon =
         (SELECT COALESCE(MAX(below_id), 0) FROM timeline_gaps WHERE owner_id = ?)
        WHERE id = ?`,
      [ownerId, ownerId]
    )
  }

  /**
   * A page of ownerId's timeline table: the ids and authors of the tweets in the window, newest first (or
   * oldest first from `after`), read from the index alone (the tweets themselves come from TweetDao.tweetsByIds). Each row
   * also carries the owner's timeline state, which saves the hot path a second query. The primary key is
   * forced: left alone, the optimizer prefers the (owner_id, author_id) index and sorts all of the
   * owner's entries to return `limit` of them (O(entries) instead of O(limit)). So is the join order
   * (STRAIGHT_JOIN), from the entries to the owner's row.
   */
  async page(ownerId: number, window: IdWindow, limit: number): Promise<TimelineEntryRow[]> {
    const [rows] = await this.readPool.execute<(TimelineEntryRow & RowDataPacket)[]>(
      `SELECT STRAIGHT_JOIN e.tweet_id AS id, e.author_id AS user_id, e.original_id AS retweet_of,
              o.timeline_horizon, o.pulled_following_count
         FROM timeline_entries e FORCE INDEX (PRIMARY)
         JOIN users o ON o.id = e.owner_id AND o.${liveUser}
        WHERE e.owner_id = ? AND e.tweet_id > ? AND e.tweet_id < ?
        ORDER BY e.tweet_id ${order(window.oldestFirst)}
        LIMIT ?`,
      [ownerId, window.after, window.before, String(limit)]
    )
    return rows
  }

  /**
   * The newest tweets of some accounts (or, with oldestFirst, the oldest), each in its own range (the
   * 'pull' accounts a user follows, the gaps a page reaches), in that order. One bounded index range per
   * account, joined in that order (STRAIGHT_JOIN), never from `users` through every tweet.
   */
  async byAuthors(ranges: AuthorRange[], limit: number, oldestFirst = false): Promise<TweetRow[]> {
    if (ranges.length === 0) return []
    const [rows] = await this.readPool.execute<(TweetRow & RowDataPacket)[]>(
      `SELECT STRAIGHT_JOIN ${tweetColumns}
         FROM (${perAuthorSql(ranges, oldestFirst)}) recent
         JOIN tweets t ON t.id = recent.id
        ORDER BY t.id ${order(oldestFirst)}
        LIMIT ?`,
      [...perAuthorParams(ranges, limit), String(limit)]
    )
    return rows
  }

  /**
   * The accounts whose newest tweet in their range is among the `limit` newest such tweets (with
   * oldestFirst: oldest, oldest): one index lookup per account, where byAuthors reads up to `limit` each.
   */
  async headAuthors(ranges: AuthorRange[], limit: number, oldestFirst = false): Promise<AuthorHeadRow[]> {
    if (ranges.length === 0) return []
    const [rows] = await this.readPool.execute<(AuthorHeadRow & RowDataPacket)[]>(
      `SELECT id, user_id FROM (${perAuthorSql(ranges, oldestFirst)}) head ORDER BY id ${order(oldestFirst)} LIMIT ?`,
      [...perAuthorParams(ranges, 1), String(limit)]
    )
    return rows
  }

  /**
   * ownerId's timeline read from the follow graph (fan-out on read): the tweets with ids in
   * [from, before) by the owner or an account the owner follows, newest first. Walks the primary key,
   * so it reads at most `before - from` tweets (fewer once `limit` are found) plus the owner's follows.
   */
  async fromFollowGraph(ownerId: number, from: number, before: number, limit: number): Promise<TweetRow[]> {
    const [rows] = await this.readPool.execute<(TweetRow & RowDataPacket)[]>(
      `SELECT ${tweetColumns}
         FROM tweets t FORCE INDEX (PRIMARY)
        WHERE t.id >= ? AND t.id < ?
          AND (t.user_id = ? OR t.user_id IN (SELECT f.follow_user_id FROM users_follow_list f WHERE f.user_id = ?))
        ORDER BY t.id DESC
        LIMIT ?`,
      [from, before, ownerId, ownerId, String(limit)]
    )
    return rows
  }

  /** The gaps of ownerId's timeline with missing tweets above `floor`: which accounts, and below what. */
  async gaps(ownerId: number, floor: number): Promise<GapRow[]> {
    const [rows] = await this.readPool.execute<(GapRow & RowDataPacket)[]>(
      'SELECT author_id, below_id FROM timeline_gaps WHERE owner_id = ? AND below_id > ?',
      [ownerId, floor + 1]
    )
    return rows
  }
}

// Values per IN list when restoring: MariaDB turns a list of 1,000 or more into a derived table
// (in_predicate_conversion_threshold), which no longer reads as index ranges.
const ownersPerStatement = 500
const tweetsPerStatement = 200

// One bounded index range per account on tweets (user_id, id): each stops after `perAuthor` rows. The
// index is forced: for ORDER BY id … LIMIT the optimizer may prefer walking the primary key, which
// reads every newer tweet of every account until it has found `perAuthor` of this one.
const perAuthorRange = (oldestFirst: boolean) =>
  `(SELECT id, user_id FROM tweets FORCE INDEX (tweets_user_id)
     WHERE user_id = ? AND id > ? AND id < ? ORDER BY id ${order(oldestFirst)} LIMIT ?)`

function perAuthorSql(ranges: AuthorRange[], oldestFirst: boolean): string {
  const range = perAuthorRange(oldestFirst)
  return ranges.map(() => range).join(' UNION ALL ')
}

function perAuthorParams(ranges: AuthorRange[], perAuthor: number): (number | string)[] {
  return ranges.flatMap((range) => [range.author_id, range.after, range.before, String(perAuthor)])
}

const order = (oldestFirst: boolean) => orderOf({ oldestFirst })
