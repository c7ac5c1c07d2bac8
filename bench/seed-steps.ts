// The benchmark seed as an ordered list of named, set-based SQL steps. A step that fills a new table
// (a derived home timeline, say) is appended to `seedSteps` and gets timed and reported like the others.
import type { PoolConnection, RowDataPacket } from 'mysql2/promise'
import { createPool, withDatabase } from '../model/database.ts'
import { emailParts, heavyUserId, type DatasetShape } from './dataset.ts'

export interface SeedContext {
  /** One session with foreign-key and unique checks off: the data is consistent by construction. */
  db: PoolConnection
  shape: DatasetShape
  tweets: number
  passwordHash: string
  /** Tweet n is created n seconds after this instant, so ids and created_at ascend together. */
  epoch: Date
  /** SQL for a derived table whose one column `seq` holds 1..n (alias it: `${sequence(n)} AS s`). */
  sequence: (n: number) => string
  /** Drops the table's secondary indexes and foreign keys around `fill` when that is the faster way. */
  bulkLoad: (table: string, fill: () => Promise<void>) => Promise<void>
}

export interface SeedStep {
  name: string
  run(seed: SeedContext): Promise<void>
}

/** How many of the newest seeded tweets are copied into home timelines (about 60 entries each). */
const timelineWindow = 40_000

/** Ordinary users follow this many non-celebrities; the rest of their followees are the celebrities. */
function ringFollows(shape: DatasetShape): number {
  return shape.followsPerUser - shape.celebrities
}

export function checkShape(shape: DatasetShape): void {
  const ring = ringFollows(shape)
  if (shape.celebrities < 1 || ring < 1) throw new Error('followsPerUser must exceed celebrities, which must be ≥ 1')
  if (shape.users < 2 * shape.celebrities + ring + 2) {
    throw new Error(`${shape.users} users are too few for ${shape.followsPerUser} follows each`)
  }
}

/** The words seeded tweets hold, one each in turn: what the search benchmark looks for. */
export const seededSearchWords = [
  '오늘',
  '날씨',
  '커피',
  '여행',
  '음악',
  '사진',
  '점심',
  '주말',
  '운동',
  '영화',
  'coffee',
  'travel',
  'music',
  'photo',
  'lunch',
  'weekend',
  'running',
  'movie',
  'weather',
  'today'
]
const searchWords = seededSearchWords.map((word) => `'${word}'`).join(', ')

export const seedSteps: SeedStep[] = [
  {
    name: 'users (one shared password hash)',
    async run({ db, shape, passwordHash, epoch, sequence }) {
      const heavy = heavyUserId(shape)
      await db.query(
        `INSERT INTO users (id, name, username, email, hashed_password, profile, created_at)
         SELECT s.seq, CONCAT('Bench user ', s.seq), CONCAT('bench_', s.seq), CONCAT(?, s.seq, ?), ?,
                CASE WHEN s.seq <= ? THEN 'celebrity: followed by everyone'
                     WHEN s.seq = ? THEN 'heavy: follows thousands of accounts'
                     ELSE 'an ordinary benchmark user' END,
                ? - INTERVAL 1 DAY
           FROM ${sequence(shape.users)} AS s
          ORDER BY s.seq`,
        [emailParts.prefix, emailParts.domain, passwordHash, shape.celebrities, heavy, epoch]
      )
    }
  },
  {
    name: 'follows (ordinary, celebrities, the heavy user)',
    async run({ db, shape, epoch, sequence }) {
      // Followee k of ordinary user u is first + (u + k·step) mod pool: distinct for k ≤ ring and never
      // u itself, because ring·step stays below pool − first. Everyone also follows every celebrity.
      const first = shape.celebrities + 1
      const pool = shape.users - shape.celebrities
      const ring = ringFollows(shape)
      const step = Math.floor((pool - first - 1) / ring)
      const heavy = heavyUserId(shape)
      const heavyOthers = Math.min(shape.heavyFollows - shape.celebrities, shape.users - heavy)
      // One statement into the empty table, so InnoDB can take its bulk-insert path. Dropping this
      // table's indexes first measured slower: at ~500k rows the rebuild costs more than it saves.
      await db.query(
        `INSERT INTO users_follow_list (user_id, follow_user_id, created_at)
         SELECT user_id, follow_user_id, ? FROM (
           SELECT u.seq AS user_id, ? + (u.seq + k.seq * ?) % ? AS follow_user_id
             FROM ${sequence(shape.users)} AS u CROSS JOIN ${sequence(ring)} AS k
            WHERE u.seq <> ?
           UNION ALL
           SELECT u.seq, c.seq
             FROM ${sequence(shape.users)} AS u CROSS JOIN ${sequence(shape.celebrities)} AS c
            WHERE u.seq <> c.seq
           UNION ALL
           SELECT ?, ? + k.seq FROM ${sequence(Math.max(heavyOthers, 1))} AS k WHERE ? > 0
         ) AS follows
         ORDER BY user_id, follow_user_id`,
        [epoch, first, step, pool, heavy, heavy, heavy, heavyOthers]
      )
    }
  },
  {
    name: 'tweets',
    async run({ db, shape, tweets, epoch, sequence, bulkLoad }) {
      // CRC32 scatters authors like real traffic (uneven gaps, ±30% per user) yet stays reproducible. Each
      // text holds its number and one of 20 words (a twentieth of the tweets each), for the search runs;
      // migrations/014's trigger indexes every row's words as it is inserted. unique_checks stays on here:
      // with both checks off, MariaDB 10.11 loads an empty table in bulk mode, and with the trigger writing
      // tweet_words in the same statement the load reports every row inserted and keeps none.
      await bulkLoad('tweets', async () => {
        await db.query('SET SESSION unique_checks = 1')
        await db.query(
          `INSERT INTO tweets (id, user_id, tweet, created_at)
           SELECT s.seq, 1 + CRC32(s.seq) % ?,
                  CONCAT('Benchmark tweet #', s.seq, ': ', ELT(1 + s.seq % 20, ${searchWords}),
                         ' the quick brown fox jumps over the lazy dog'),
                  ? + INTERVAL s.seq SECOND
             FROM ${sequence(tweets)} AS s
            ORDER BY s.seq`,
          [shape.users, epoch]
        )
        await db.query('SET SESSION unique_checks = 0')
      })
    }
  },
  {
    name: 'retweets (every 50th tweet of the window)',
    async run({ db, tweets }) {
      // A retweet is a tweets row naming what it repeats: every 50th row of the timeline window becomes
      // its author's retweet of the tweet 25 ids older (never itself a retweet), so timelines show
      // retweets, and counts and the caller's flags on a page have rows behind them.
      const horizon = tweets - Math.min(tweets, timelineWindow) + 1
      await db.query("UPDATE tweets SET retweet_of = id - 25, tweet = '' WHERE id >= ? AND id > 25 AND id % 50 = 0", [
        horizon
      ])
      await db.query(
        `UPDATE tweets o JOIN (SELECT retweet_of, COUNT(*) AS n FROM tweets WHERE retweet_of IS NOT NULL GROUP BY retweet_of) r
             ON r.retweet_of = o.id
            SET o.retweet_count = r.n`
      )
    }
  },
  {
    name: 'home timelines (newest window) and counters',
    async run({ db, shape, tweets }) {
      // A live database copies each new tweet into its followers' timeline_entries. Copying every
      // seeded tweet would be ~50 rows per tweet, so only the newest window is copied and every
      // timeline gets a gap below it for the user and each followee, with timeline_horizon there:
      // older pages read those accounts directly, exactly as after a bounded follow backfill.
      const window = Math.min(tweets, timelineWindow)
      const horizon = tweets - window + 1
      // IGNORE: an entry showing what the timeline already shows (a retweet of a tweet already there) is
      // skipped, as the fan-out skips it. That needs the unique checks this session otherwise goes without.
      await db.query('SET SESSION unique_checks = 1')
      await db.query(
        `INSERT IGNORE INTO timeline_entries (owner_id, tweet_id, author_id, original_id)
         SELECT t.user_id, t.id, t.user_id, t.retweet_of FROM tweets t WHERE t.id >= ?
         UNION ALL
         SELECT f.user_id, t.id, t.user_id, t.retweet_of FROM tweets t JOIN users_follow_list f ON f.follow_user_id = t.user_id
          WHERE t.id >= ?
         ORDER BY 1, 2`,
        [horizon, horizon]
      )
      await db.query('SET SESSION unique_checks = 0')
      await db.query(
        `INSERT INTO timeline_gaps (owner_id, author_id, below_id)
         SELECT u.id, u.id, ? FROM users u
         UNION ALL
         SELECT f.user_id, f.follow_user_id, ? FROM users_follow_list f
         ORDER BY 1, 2`,
        [horizon, horizon]
      )
      await db.query('UPDATE users SET timeline_horizon = ?', [horizon])
      await db.query(
        `UPDATE users u
           LEFT JOIN (SELECT follow_user_id AS id, COUNT(*) AS n FROM users_follow_list GROUP BY follow_user_id) fr ON fr.id = u.id
           LEFT JOIN (SELECT user_id AS id, COUNT(*) AS n FROM users_follow_list GROUP BY user_id) fg ON fg.id = u.id
           LEFT JOIN (SELECT user_id AS id, COUNT(*) AS n FROM tweets WHERE retweet_of IS NULL GROUP BY user_id) tw ON tw.id = u.id
            SET u.followers_count = COALESCE(fr.n, 0), u.following_count = COALESCE(fg.n, 0), u.tweets_count = COALESCE(tw.n, 0)
          WHERE u.id <= ?`,
        [shape.users]
      )
    }
  },
  {
    name: 'likes (a tenth of each home window)',
    async run({ db }) {
      // Each user likes about one in ten of the tweets their home timeline shows, so a signed-in page
      // carries some `liked` flags and every shown tweet a like_count from real rows.
      await db.query(
        `INSERT INTO likes (user_id, tweet_id, created_at)
         SELECT e.owner_id, e.shown_id, t.created_at + INTERVAL 1 MINUTE
           FROM timeline_entries e JOIN tweets t ON t.id = e.tweet_id
          WHERE CRC32(e.owner_id * 1000003 + e.shown_id) % 10 = 0
          ORDER BY e.owner_id, e.shown_id`
      )
      await db.query(
        `UPDATE tweets o JOIN (SELECT tweet_id, COUNT(*) AS n FROM likes GROUP BY tweet_id) l ON l.tweet_id = o.id
            SET o.like_count = l.n`
      )
    }
  },
  {
    name: 'analyze tables',
    async run({ db }) {
      // Fresh statistics, so the optimizer plans as it would on a database that grew to this size.
      await db.query<RowDataPacket[]>(
        'ANALYZE TABLE users, users_follow_list, tweets, timeline_entries, timeline_gaps, likes'
      )
    }
  }
]

/** Whether the server has MariaDB's sequence engine (engineSequence), else rows come from cteSequence. */
export async function hasSequenceEngine(serverUrl: string): Promise<boolean> {
  const pool = createPool(withDatabase(serverUrl, undefined), { connectionLimit: 1 })
  try {
    const [rows] = await pool.query<RowDataPacket[]>(
      "SELECT SUPPORT FROM information_schema.ENGINES WHERE ENGINE = 'SEQUENCE'"
    )
    return rows.length > 0 && ['YES', 'DEFAULT'].includes(rows[0].SUPPORT as string)
  } finally {
    await pool.end()
  }
}

/** MariaDB's sequence engine exposes seq_1_to_N tables; MySQL 8 needs generated rows instead. */
export function engineSequence(n: number): string {
  assertCount(n)
  return `seq_1_to_${n}`
}

/**
 * Rows 1..n for servers without the sequence engine: a 1,000-row recursive CTE (within MySQL's default
 * recursion limit) cross-joined with itself as often as n needs, the outermost factor bounded.
 */
export function cteSequence(n: number): string {
  assertCount(n)
  let factors = 1
  while (1000 ** factors < n) factors += 1
  const digits = Array.from({ length: factors }, (_, i) => `d${i}`)
  const value = digits.map((d, i) => (i === 0 ? `${d}.d` : `${d}.d * ${1000 ** i}`)).join(' + ')
  const top = digits[factors - 1]
  return `(WITH RECURSIVE digits (d) AS (SELECT 0 UNION ALL SELECT d + 1 FROM digits WHERE d < 999)
           SELECT ${value} + 1 AS seq
             FROM ${digits.map((d) => `digits AS ${d}`).join(' CROSS JOIN ')}
            WHERE ${top}.d <= ${Math.floor((n - 1) / 1000 ** (factors - 1))} AND ${value} < ${n})`
}

function assertCount(n: number): void {
  // The count is spliced into SQL (a table name cannot be a placeholder), so it must be a plain integer.
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`Not a row count: ${n}`)
}

const indexLine = /^(?:(?:UNIQUE |FULLTEXT |SPATIAL )?KEY|CONSTRAINT) (`(?:[^`]|``)+`)/

/**
 * Runs `fill` with the table's secondary indexes and foreign keys dropped, then rebuilds them in one
 * ALTER (a sort per index instead of one random B-tree insert per row) and checks that the table's
 * definition is exactly what the migrations made.
 */
export async function withoutSecondaryIndexes(db: PoolConnection, table: string, fill: () => Promise<void>) {
  const definition = async () => {
    const [rows] = await db.query<RowDataPacket[]>('SHOW CREATE TABLE ??', [table])
    return (rows[0]['Create Table'] as string).replace(/ AUTO_INCREMENT=\d+/, '')
  }
  const before = await definition()
  const lines = before.split('\n').map((line) => line.trim().replace(/,$/, ''))
  const foreignKeys = lines.filter((line) => /^CONSTRAINT .* FOREIGN KEY /.test(line))
  const keys = lines.filter((line) => /^(?:UNIQUE |FULLTEXT |SPATIAL )?KEY /.test(line))
  if (keys.length === 0 && foreignKeys.length === 0) return fill()
  const name = (line: string) => indexLine.exec(line)![1]
  const drops = [
    ...foreignKeys.map((line) => `DROP FOREIGN KEY ${name(line)}`),
    ...keys.map((line) => `DROP KEY ${name(line)}`)
  ]
  await db.query(`ALTER TABLE ${db.escapeId(table)} ${drops.join(', ')}`)
  const filling = performance.now()
  await fill()
  const rebuilding = performance.now()
  const adds = [...keys, ...foreignKeys].map((line) => `ADD ${line}`)
  await db.query(`ALTER TABLE ${db.escapeId(table)} ${adds.join(', ')}`)
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`
  process.stdout.write(
    `    ${table}: filled in ${seconds(rebuilding - filling)}, ` +
      `${keys.length} index(es) and ${foreignKeys.length} foreign key(s) rebuilt in ${seconds(performance.now() - rebuilding)}\n`
  )
  const after = await definition()
  if (after !== before) {
    throw new Error(`Rebuilding the indexes of ${table} changed its definition:\n${before}\n---\n${after}`)
  }
}
