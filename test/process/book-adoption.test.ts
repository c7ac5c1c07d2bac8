// `npm run migrate` and `npm start` on a database the book's SQL made, as processes of their own: the dry
// run, the adoption's progress, the start-up log, a login with a book password; and a refused database.
import type { RowDataPacket } from 'mysql2/promise'
import t from 'tap'
import { createPool } from '../../model/database.ts'
import { readMigrations } from '../../model/migrator.ts'
import { postJson, runSetup, serverSecret, startServer } from '../../scripts/support/processes.ts'
import { createBookDatabase, snapshotOf } from '../fixtures/book.ts'
import { emptyTestDatabaseUrl } from '../helper.ts'

const envFor = (databaseUrl: string, extra: Record<string, string> = {}) => ({
  ...process.env,
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  JWT_SECRET: serverSecret,
  PUBLIC_URL: 'http://127.0.0.1',
  DATABASE_URL: databaseUrl,
  FANOUT_MAX_FOLLOWERS: '4',
  ...extra
})

async function appliedVersions(url: string): Promise<number[]> {
  const pool = createPool(url, { connectionLimit: 1 })
  try {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT version FROM schema_migrations ORDER BY version')
    return rows.map((row) => Number(row.version))
  } finally {
    await pool.end()
  }
}

t.test('migrate --dry-run, then migrate, on the book’s database', async (t) => {
  const url = await emptyTestDatabaseUrl(t)
  await createBookDatabase(url, { charset: 'latin1', profilePicture: false })
  const versions = (await readMigrations()).map((m) => m.version)
  const before = await snapshotOf(url)

  t.test('the dry run prints what migrate would do and changes nothing', async (t) => {
    const run = await runSetup(['migrate', '--dry-run'], envFor(url))
    t.equal(run.code, 0, run.output)
    const lines = run.stdout.trimEnd().split('\n')
    t.match(
      lines[0],
      /^database "miniter_test_\w+" on [\w.]+:\d+: the book's database \(7 users, 14 follows, 150 tweets\), would be adopted:$/
    )
    t.match(lines[1], "  1. rename the book's tables to book_users, book_users_follow_list, book_tweets")
    t.ok(lines.some((line) => line.includes("change the database's default collation from latin1_swedish_ci")))
    t.match(lines.at(-2), `would apply ${versions.length} migrations: 001_init (the baseline), 002_timeline, `)
    t.equal(lines.at(-1), 'dry run: nothing was changed')
    t.same(await snapshotOf(url), before)
  })

  t.test('migrate adopts it, printing each step, and exits 0', async (t) => {
    const run = await runSetup(['migrate'], envFor(url))
    t.equal(run.code, 0, run.output)
    t.match(run.stdout, /^adopting the book's database: 7 users, 14 follows, 150 tweets\n/)
    t.match(run.stdout, /\n {2}tweets copied: 150 rows in \d+\.\d s\n/)
    t.match(run.stdout, /\n {2}recorded 001_init as the baseline\n/)
    t.match(run.stdout, /\napplying 014_search\n {2}search words: 150 tweets/)
    t.match(run.stdout, /\n {2}users' updated_at, as the book left it: 7 users in/)
    t.match(run.stdout, /\ndatabase is up to date\n$/)
    t.same(await appliedVersions(url), versions)
  })

  t.test('the next dry run finds Miniter’s database with nothing pending', async (t) => {
    const run = await runSetup(['migrate', '--dry-run'], envFor(url))
    t.equal(run.code, 0, run.output)
    t.match(run.stdout, /: Miniter's\nno migration pending\ndry run: nothing was changed\n$/)
  })
})

t.test('npm start adopts the book’s database, logging its progress, and its users log in', async (t) => {
  const url = await emptyTestDatabaseUrl(t)
  const data = await createBookDatabase(url)
  const server = await startServer({ env: { DATABASE_URL: url, LOG_LEVEL: 'info', FANOUT_MAX_FOLLOWERS: '4' } })
  t.teardown(() => server.stop())
  // The start-up line comes last, once listening: waited for, bounded by the test's timeout.
  const messages = async () =>
    server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { msg: string }).msg)
  while (!(await messages()).some((msg) => msg.startsWith('Miniter is listening'))) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const log = await messages()
  t.ok(log.includes("adopting the book's database: 7 users, 14 follows, 150 tweets"), log.join('\n'))
  t.ok(log.includes('applying 002_timeline'))
  t.ok(log.some((msg) => /^timeline gaps: 21 gaps in/.test(msg)))
  const applied = (await readMigrations()).length
  t.ok(log.some((msg) => msg.endsWith(`: the book's database, adopted, ${applied} migrations applied`)))
  const user = data.users[0]
  const res = await postJson(`${server.url}/login`, { email: user.email, password: user.password })
  t.equal(res.status, 200)
  t.equal(((await res.json()) as { user_id: number }).user_id, user.id)
})

t.test('a database that is not the book’s is refused untouched, with exit code 1', async (t) => {
  const url = await emptyTestDatabaseUrl(t)
  const pool = createPool(url, { connectionLimit: 1 })
  await pool.query('CREATE TABLE posts (id INT PRIMARY KEY, body TEXT)')
  await pool.query("INSERT INTO posts VALUES (1, 'mine')")
  await pool.end()
  const before = await snapshotOf(url)
  for (const args of [['migrate'], ['migrate', '--dry-run']]) {
    const run = await runSetup(args, envFor(url))
    t.equal(run.code, 1, args.join(' '))
    t.match(run.output, /is neither empty, nor Miniter's .* it holds posts\. Nothing was changed\./)
    t.same(await snapshotOf(url), before)
  }
})
