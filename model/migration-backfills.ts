// The data migrations derive from existing rows (counters, timelines, search words), computed in bounded
// batches instead of the one statement their files hold; on an empty database both ways write nothing.
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import { rangesOf, StepProgress, type Progress } from './batches.ts'
import type { Queryable } from './database.ts'

export interface BackfillContext {
  /** The migrator's one connection. */
  db: Queryable
  progress: Progress
  /** FANOUT_MAX_FOLLOWERS: accounts with more followers become 'pull'; unset, every account stays 'push'. */
  fanoutMaxFollowers?: number
}

export interface Backfill {
  /**
   * The migration's own statements that this replaces, each matching exactly one top-level statement of
   * the file (from the start of a line to its `;`), so that a changed file fails loudly rather than
   * running both ways.
   */
  replaces: RegExp[]
  /** Runs after the rest of the migration, before it is recorded as applied. */
  run(context: BackfillContext): Promise<void>
}

/** Users per batch: each batch counts or copies their follows and tweets through their indexes. */
const usersPerBatch = 1000
/** Tweets per tweet_words batch: about ten words each. */
const tweetsPerBatch = 10_000

async function countOf(db: Queryable, table: string): Promise<number> {
  const [[row]] = await db.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM ??', [table])
  return Number(row.n)
}

/**
 * migrations/002: profile counters, fan-out modes and timelines for the rows already there. Instead of
 * copying every tweet into its author's and every follower's timeline_entries, every user's timeline
 * gets a horizon just above the newest tweet: migrations/006 turns it into a gap for the user and each
 * account they follow, and pages below a gap read those accounts' tweets directly (model/timeline-dao.ts),
 * as after any bounded follow backfill. New tweets are copied as usual. Done here rather than after the
 * last migration so that 006, written for exactly this, makes the gaps.
 */
const timeline: Backfill = {
  replaces: [/^UPDATE users u SET[^;]*;/m, /^INSERT INTO timeline_entries[^;]*;/m],
  async run({ db, progress, fanoutMaxFollowers }) {
    const users = await countOf(db, 'users')
    if (users === 0) return
    const [[newest]] = await db.query<RowDataPacket[]>('SELECT MAX(id) AS id FROM tweets')
    const horizon = newest.id === null ? 0 : Number(newest.id) + 1
    const counters = new StepProgress(progress, 'counters and timeline horizons', users)
    for await (const { from, to } of rangesOf(db, 'users', 'id', usersPerBatch)) {
      const [result] = await db.query<ResultSetHeader>(
        `UPDATE users u SET
           u.followers_count = (SELECT COUNT(*) FROM users_follow_list f WHERE f.follow_user_id = u.id),
           u.following_count = (SELECT COUNT(*) FROM users_follow_list f WHERE f.user_id = u.id),
           u.tweets_count = (SELECT COUNT(*) FROM tweets t WHERE t.user_id = u.id),
           u.timeline_horizon = ?
         WHERE u.id >= ? AND u.id < ?`,
        [horizon, from, to]
      )
      counters.advance(result.affectedRows)
    }
    counters.finish('users')
    if (fanoutMaxFollowers === undefined) return
    // The rule service/follow-service.ts applies at each follow: more followers than the threshold.
    const [pull] = await db.query<ResultSetHeader>("UPDATE users SET fanout = 'pull' WHERE followers_count > ?", [
      fanoutMaxFollowers
    ])
    progress(
      `  accounts with more than ${fanoutMaxFollowers} followers, read by their followers ('pull'): ${pull.affectedRows}`
    )
    if (pull.affectedRows === 0) return
    const pulled = new StepProgress(progress, "follows of 'pull' accounts", users)
    for await (const { from, to } of rangesOf(db, 'users', 'id', usersPerBatch)) {
      await db.query(
        `INSERT INTO pulled_follows (user_id, follow_user_id)
         SELECT f.user_id, f.follow_user_id FROM users_follow_list f JOIN users a ON a.id = f.follow_user_id
          WHERE a.fanout = 'pull' AND f.user_id >= ? AND f.user_id < ?`,
        [from, to]
      )
      const [result] = await db.query<ResultSetHeader>(
        `UPDATE users u SET u.pulled_following_count = (SELECT COUNT(*) FROM pulled_follows p WHERE p.user_id = u.id)
          WHERE u.id >= ? AND u.id < ?`,
        [from, to]
      )
      pulled.advance(result.affectedRows)
    }
    pulled.finish('users')
  }
}

/** migrations/006: a gap for each user with a horizon, and for each account they follow, a batch of users at a time. */
const timelineGaps: Backfill = {
  replaces: [/^INSERT INTO timeline_gaps[^;]*;/m],
  async run({ db, progress }) {
    const [[row]] = await db.query<RowDataPacket[]>(
      `SELECT (SELECT COUNT(*) FROM users WHERE timeline_horizon > 0) AS owners,
              (SELECT COUNT(*) FROM users_follow_list f JOIN users u ON u.id = f.user_id WHERE u.timeline_horizon > 0) AS follows`
    )
    if (Number(row.owners) === 0) return
    const gaps = new StepProgress(progress, 'timeline gaps', Number(row.owners) + Number(row.follows))
    for await (const { from, to } of rangesOf(db, 'users', 'id', usersPerBatch)) {
      const [result] = await db.query<ResultSetHeader>(
        `INSERT INTO timeline_gaps (owner_id, author_id, below_id)
           SELECT u.id, u.id, u.timeline_horizon FROM users u
            WHERE u.timeline_horizon > 0 AND u.id >= ? AND u.id < ?
           UNION ALL
           SELECT f.user_id, f.follow_user_id, u.timeline_horizon
             FROM users_follow_list f JOIN users u ON u.id = f.user_id
            WHERE u.timeline_horizon > 0 AND f.user_id >= ? AND f.user_id < ?`,
        [from, to, from, to]
      )
      gaps.advance(result.affectedRows)
    }
    gaps.finish('gaps')
  }
}

/** migrations/014: the words of the tweets already there, a range of tweet ids at a time. */
const searchWords: Backfill = {
  replaces: [/^INSERT IGNORE INTO tweet_words[^;]*;/m],
  async run({ db, progress }) {
    const tweets = await countOf(db, 'tweets')
    if (tweets === 0) return
    const words = new StepProgress(progress, 'search words', tweets)
    let written = 0
    for await (const { from, to, rows } of rangesOf(db, 'tweets', 'id', tweetsPerBatch)) {
      const [result] = await db.query<ResultSetHeader>(
        `INSERT IGNORE INTO tweet_words (word, tweet_id)
         SELECT LEFT(j.word, 40), t.id
           FROM tweets t, JSON_TABLE(tweet_words_json(t.tweet), '$[*]' COLUMNS (word VARCHAR(300) PATH '$')) j
          WHERE t.retweet_of IS NULL AND j.word <> '' AND t.id >= ? AND t.id < ?`,
        [from, to]
      )
      written += result.affectedRows
      words.advance(rows)
    }
    words.finish(`tweets (${written.toLocaleString('en-US')} words)`)
  }
}

/**
 * By migration version. On a database with data (an adopted book database: 1M tweets) each replaced
 * statement would be one huge transaction, and 002's copy of every tweet into every follower's timeline
 * tens of millions of rows.
 */
export const backfills: ReadonlyMap<number, Backfill> = new Map([
  [2, timeline],
  [6, timelineGaps],
  [14, searchWords]
])

/** The migration's SQL without the statements a backfill replaces. */
export function withoutReplaced(sql: string, backfill: Backfill, migration: string): string {
  let rest = sql
  for (const pattern of backfill.replaces) {
    const matches = rest.match(new RegExp(pattern.source, 'gm')) ?? []
    if (matches.length !== 1) {
      throw new Error(
        `Migration ${migration}: ${matches.length} statements match ${pattern}, the backfill replaces one`
      )
    }
    rest = rest.replace(pattern, '')
  }
  return rest
}
