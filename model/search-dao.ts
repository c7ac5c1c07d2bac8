// Search: people by the prefix of their username or name, and tweets by the words of their text (the
// tweet_words table of migrations/014). Both read newest first below a cursor, from `readPool`.
import type { Pool, RowDataPacket } from 'mysql2/promise'
import { liveUser, type UserSummaryRow } from './user-dao.ts'

/** tweet_words.word: longer words are kept (and looked for) by their first 40 characters. */
const maxWordLength = 40

/** Below this many rows under the cursor a word is rare: all its tweets are read and sorted. */
const rareBelow = 1000
/** The tweet ids one page walks down, at most, when every word is common. */
const walkSpan = 20_000

/** A page of a tweet search: the ids found, and where the read stopped short of the end (else null). */
export interface TweetSearchRows {
  ids: number[]
  /** Older matches may lie below this id, which the read did not reach: the next page starts here. */
  continueBelow: number | null
}

/** A LIKE pattern for whatever starts with `prefix` (its own % and _ taken literally). */
const startsWith = (prefix: string) => `${prefix.replace(/[\\%_]/g, '\\$&')}%`

export class SearchDao {
  /** `bounds`: rareBelow and walkSpan (tests make them small, to reach both ways with few tweets). */
  constructor(
    private readonly readPool: Pool,
    private readonly bounds = { rareBelow, walkSpan }
  ) {}

  /**
   * Users whose username or name starts with `prefix` (case-insensitively, as the collation compares),
   * highest id first, ids below `before`. Each index answers its own matches below the cursor, so a read
   * costs the matches of the prefix, never a scan of all users.
   */
  async users(prefix: string, before: number, limit: number): Promise<UserSummaryRow[]> {
    const pattern = startsWith(prefix)
    const [rows] = await this.readPool.query<(UserSummaryRow & RowDataPacket)[]>(
      `SELECT u.id, u.name, u.username, u.profile, u.profile_picture
         FROM users u JOIN (
           (SELECT id FROM users FORCE INDEX (users_username) WHERE username LIKE ? AND id < ? AND ${liveUser} ORDER BY id DESC LIMIT ?)
           UNION
           (SELECT id FROM users FORCE INDEX (users_name) WHERE name LIKE ? AND id < ? AND ${liveUser} ORDER BY id DESC LIMIT ?)
         ) m ON m.id = u.id
        ORDER BY u.id DESC LIMIT ?`,
      [pattern, before, limit, pattern, before, limit, limit]
    )
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      username: row.username,
      profile: row.profile,
      profile_picture: row.profile_picture
    }))
  }

  /**
   * The tweets holding every one of `words` as the start of one of their words (case-insensitively), newest
   * first, ids below `before`: at most `limit` ids, and where the read stopped short of the end, the id
   * below which it did not look (migrations/014's tweet_words).
   *
   * First, how many rows each word has below the cursor, counted up to rareBelow: the rarest leads. A
   * rare lead's tweets are all read (its prefix range of the primary key) and each is checked for the other
   * words. Otherwise every word is common, and the page walks down the newest tweet ids through
   * tweet_words_tweet, at most walkSpan of them: it stops at `limit` matches or at the end of the span,
   * then answers `continueBelow` so that the caller's next page goes on from there. Either way a page
   * reads a bounded number of rows, however many tweets hold the words.
   */
  async tweetIds(words: readonly string[], before: number, limit: number): Promise<TweetSearchRows> {
    const patterns = words.map((word) => startsWith(word.slice(0, maxWordLength)))
    const counted = patterns.map(
      (_, i) =>
        `(SELECT COUNT(*) FROM (SELECT 1 FROM tweet_words FORCE INDEX (PRIMARY) WHERE word LIKE ? AND tweet_id < ? LIMIT ${this.bounds.rareBelow}) c) AS n${i}`
    )
    const [[counts]] = await this.readPool.query<RowDataPacket[]>(
      `SELECT ${counted.join(', ')}, (SELECT MAX(tweet_id) FROM tweet_words) AS newest`,
      patterns.flatMap((pattern) => [pattern, before])
    )
    const [lead, ...others] = patterns
      .map((pattern, i) => ({ pattern, rows: Number(counts[`n${i}`]) }))
      .sort((a, b) => a.rows - b.rows)
    const alsoHolding = others
      .map(
        (_, i) =>
          `JOIN tweet_words o${i} FORCE INDEX (tweet_words_tweet) ON o${i}.tweet_id = w.tweet_id AND o${i}.word LIKE ?`
      )
      .join(' ')
    const otherPatterns = others.map((other) => other.pattern)
    if (lead.rows < this.bounds.rareBelow) {
      const [rows] = await this.readPool.query<RowDataPacket[]>(
        `SELECT STRAIGHT_JOIN DISTINCT w.tweet_id FROM tweet_words w FORCE INDEX (PRIMARY) ${alsoHolding}
          WHERE w.word LIKE ? AND w.tweet_id < ?
          ORDER BY w.tweet_id DESC LIMIT ?`,
        [...otherPatterns, lead.pattern, before, limit]
      )
      return { ids: rows.map((row) => row.tweet_id as number), continueBelow: null }
    }
    const top = Math.min(before, Number(counts.newest) + 1)
    const from = Math.max(0, top - this.bounds.walkSpan)
    const [rows] = await this.readPool.query<RowDataPacket[]>(
      `SELECT STRAIGHT_JOIN w.tweet_id FROM tweet_words w FORCE INDEX (tweet_words_tweet) ${alsoHolding}
        WHERE w.tweet_id >= ? AND w.tweet_id < ? AND w.word LIKE ?
        GROUP BY w.tweet_id ORDER BY w.tweet_id DESC LIMIT ?`,
      [...otherPatterns, from, top, lead.pattern, limit]
    )
    const ids = rows.map((row) => row.tweet_id as number)
    return { ids, continueBelow: ids.length < limit && from > 0 ? from : null }
  }
}
