// Search: people by the prefix of their username or name, and tweets by the words of their text (the
// FULLTEXT index of migrations/014, whose indexed text puts 'ww' before every word). Both read newest first
// below a cursor, from `readPool`.
import type { Pool, RowDataPacket } from 'mysql2/promise'
import type { UserSummaryRow } from './user-dao.ts'

/** A LIKE pattern for whatever starts with `prefix` (its own % and _ taken literally). */
const startsWith = (prefix: string) => `${prefix.replace(/[\\%_]/g, '\\$&')}%`

export class SearchDao {
  constructor(private readonly readPool: Pool) {}

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
           (SELECT id FROM users FORCE INDEX (users_username) WHERE username LIKE ? AND id < ? ORDER BY id DESC LIMIT ?)
           UNION
           (SELECT id FROM users FORCE INDEX (users_name) WHERE name LIKE ? AND id < ? ORDER BY id DESC LIMIT ?)
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
   * Ids of the tweets holding every one of `words` as the start of one of their words (case-insensitively),
   * newest first, ids below `before`. Words are letters, digits, marks and '_' only (the caller splits
   * the query so), which keeps the FULLTEXT query free of operators.
   */
  async tweetIds(words: readonly string[], before: number, limit: number): Promise<number[]> {
    const [rows] = await this.readPool.query<RowDataPacket[]>(
      `SELECT tweet_id FROM tweet_search
        WHERE MATCH (words) AGAINST (? IN BOOLEAN MODE) AND tweet_id < ?
        ORDER BY tweet_id DESC LIMIT ?`,
      [words.map((word) => `+ww${word}*`).join(' '), before, limit]
    )
    return rows.map((row) => row.tweet_id as number)
  }
}
