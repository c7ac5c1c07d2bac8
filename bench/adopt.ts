// `npm run bench:adopt [-- --tweets 1m]`: builds a database as the book's SQL would have it at that size
// (miniter_bench_book_<size>), then times the migrator adopting it, printing the adoption's own progress.
import { parseArgs } from 'node:util'
import type { RowDataPacket } from 'mysql2/promise'
import { loadConfig } from '../config.ts'
import { createDatabase, createPool, dropDatabase, withDatabase } from '../model/database.ts'
import { migrationsDir, Migrator } from '../model/migrator.ts'
import { bookAccounts, bookCollations, bookSchemaSql, type BookCharset } from '../test/fixtures/book.ts'
import { benchDatabaseServer, parseSize, sizeLabel } from './dataset.ts'
import { cteSequence, engineSequence, hasSequenceEngine, seededSearchWords } from './seed-steps.ts'

const { values: args } = parseArgs({
  options: {
    tweets: { type: 'string', default: '1m' },
    users: { type: 'string', default: '20000' },
    follows: { type: 'string', default: '50' },
    celebrities: { type: 'string', default: '10' },
    charset: { type: 'string', default: 'utf8mb4' },
    'fanout-max-followers': { type: 'string', default: String(loadConfig({}).fanoutMaxFollowers) },
    help: { type: 'boolean', default: false }
  }
})

const usage = `Usage: npm run bench:adopt -- [options]
  --tweets N                 tweets in the book's database; default 1m
  --users N                  default 20000
  --follows N                followees per user, the celebrities included; default 50
  --celebrities N            accounts everyone follows; default 10
  --charset utf8mb4|utf8|latin1   the book's tables' character set; default utf8mb4
  --fanout-max-followers N   FANOUT_MAX_FOLLOWERS for the adoption; default the app's
Server: BENCH_DATABASE_URL, else the one the app would use (DATABASE_URL, 127.0.0.1:3306, private instance).`

function positive(name: string, text: string): number {
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`)
  return value
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

async function timed(label: string, work: () => Promise<unknown>): Promise<void> {
  const started = performance.now()
  await work()
  process.stdout.write(`  ${label.padEnd(50)}${seconds(performance.now() - started).padStart(9)}\n`)
}

async function main(): Promise<void> {
  if (args.help) {
    process.stdout.write(`${usage}\n`)
    return
  }
  const tweets = parseSize(args.tweets)
  const users = positive('users', args.users)
  const celebrities = positive('celebrities', args.celebrities)
  const ring = positive('follows', args.follows) - celebrities
  if (ring < 1 || users < 2 * (ring + celebrities)) throw new Error('--users must be well above --follows')
  const charset = args.charset as BookCharset
  if (!(charset in bookCollations)) throw new Error('--charset must be utf8mb4, utf8 or latin1')
  const fanoutMaxFollowers = Number(args['fanout-max-followers'])

  const server = await benchDatabaseServer()
  const name = `miniter_bench_book_${sizeLabel(tweets)}`
  const url = withDatabase(server.url, name)
  try {
    const sequence = (await hasSequenceEngine(server.url)) ? engineSequence : cteSequence
    process.stdout.write(`${name}: the book's schema (${charset}), ${users} users, ${tweets} tweets\n`)
    await dropDatabase(server.url, name)
    await createDatabase(server.url, name)
    const pool = createPool(url, { connectionLimit: 1, multipleStatements: true })
    try {
      await pool.query(`ALTER DATABASE COLLATE ${bookCollations[charset]}`)
      await pool.query(await bookSchemaSql())
      await pool.query('ALTER TABLE users ADD COLUMN profile_picture VARCHAR(255)')
      // The data is consistent by construction; the book's foreign keys would only slow the load.
      await pool.query('SET SESSION foreign_key_checks = 0')
      const epoch = new Date(Date.UTC(2020, 0, 1))
      await timed('seed users (one Python-made bcrypt hash)', () =>
        pool.query(
          `INSERT INTO users (id, name, email, hashed_password, profile, created_at, updated_at)
           SELECT s.seq, CONCAT('Book user ', s.seq), CONCAT('book-user-', s.seq, '@example.com'), ?,
                  'a user of the book''s Miniter', ?, ?
             FROM ${sequence(users)} AS s ORDER BY s.seq`,
          [bookAccounts[1].hash, epoch, epoch]
        )
      )
      // Everyone follows the celebrities, and `ring` others spread around the id space.
      const step = Math.floor((users - celebrities - 1) / ring)
      await timed('seed follows', () =>
        pool.query(
          `INSERT IGNORE INTO users_follow_list (user_id, follow_user_id, created_at)
           SELECT u.seq, ? + (u.seq + k.seq * ?) % ?, ? FROM ${sequence(users)} AS u CROSS JOIN ${sequence(ring)} AS k
            WHERE ? + (u.seq + k.seq * ?) % ? <> u.seq
           UNION ALL
           SELECT u.seq, c.seq, ? FROM ${sequence(users)} AS u CROSS JOIN ${sequence(celebrities)} AS c WHERE u.seq <> c.seq
           ORDER BY 1, 2`,
          [celebrities + 1, step, users - celebrities, epoch, celebrities + 1, step, users - celebrities, epoch]
        )
      )
      const words = seededSearchWords.map((word) => pool.escape(word)).join(', ')
      await timed('seed tweets', () =>
        pool.query(
          `INSERT INTO tweets (id, user_id, tweet, created_at)
           SELECT s.seq, 1 + CRC32(s.seq) % ?,
                  CONCAT('Book tweet #', s.seq, ': ', ELT(1 + s.seq % 20, ${words}), ' the quick brown fox'),
                  ? + INTERVAL s.seq SECOND
             FROM ${sequence(tweets)} AS s ORDER BY s.seq`,
          [users, epoch]
        )
      )
      const [[counts]] = await pool.query<RowDataPacket[]>(
        'SELECT (SELECT COUNT(*) FROM users_follow_list) AS follows, (SELECT COUNT(*) FROM tweets) AS tweets'
      )
      process.stdout.write(
        `  ${Number(counts.follows).toLocaleString('en')} follows, ${Number(counts.tweets).toLocaleString('en')} tweets\n`
      )
    } finally {
      await pool.end()
    }

    process.stdout.write(`Adopting (FANOUT_MAX_FOLLOWERS=${fanoutMaxFollowers}):\n`)
    const started = performance.now()
    const migrator = new Migrator(url, migrationsDir, {
      fanoutMaxFollowers,
      progress: (line) => process.stdout.write(`  ${line}\n`)
    })
    const applied = await migrator.up()
    process.stdout.write(
      `Adopted and migrated (${applied.length} migrations) in ${seconds(performance.now() - started)}; ` +
        `the database stays as ${name}\n`
    )
  } finally {
    await server.stop()
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:adopt failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
