// `npm run worker` (setup.ts worker): fan-out without the HTTP API, in a process of its own.
import { spawn } from 'node:child_process'
import type { RowDataPacket } from 'mysql2/promise'
import t from 'tap'
import { createPool } from '../../model/database.ts'
import { TweetDao } from '../../model/tweet-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { testDatabaseUrl } from '../helper.ts'
import { serverSecret } from '../../scripts/support/processes.ts'

t.test('the worker process drains the outbox, then stops cleanly on SIGTERM', async (t) => {
  const databaseUrl = await testDatabaseUrl(t)
  const pool = createPool(databaseUrl)
  t.teardown(() => pool.end())
  const users = new UserDao(pool)
  const tweets = new TweetDao(pool)
  const author = await users.insertUser({
    name: 'author',
    username: 'author',
    email: 'author@example.com',
    profile: '',
    hashedPassword: 'x'
  })
  const fans: number[] = []
  for (let i = 0; i < 3; i++)
    fans.push(
      await users.insertUser({
        name: `fan${i}`,
        username: `fan${i}`,
        email: `fan${i}@example.com`,
        profile: '',
        hashedPassword: 'x'
      })
    )
  await pool.query('INSERT INTO users_follow_list (user_id, follow_user_id) VALUES ?', [
    fans.map((fan) => [fan, author])
  ])
  await pool.query('UPDATE users SET followers_count = ? WHERE id = ?', [fans.length, author])
  const posted: number[] = []
  for (let i = 0; i < 5; i++) posted.push((await tweets.postTweet(author, `queued ${i}`))!.id)

  const child = spawn(process.execPath, ['--import', 'tsx', 'setup.ts', 'worker'], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      JWT_SECRET: serverSecret,
      PUBLIC_URL: 'http://127.0.0.1',
      DATABASE_URL: databaseUrl,
      FANOUT_WORKERS: '0',
      FANOUT_POLL_MS: '20'
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.teardown(() => child.kill('SIGKILL'))

  // Bounded by the test's timeout.
  for (;;) {
    const [[row]] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM fanout_outbox')
    if (Number(row.n) === 0) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT owner_id, COUNT(*) AS n FROM timeline_entries WHERE tweet_id IN (?) GROUP BY owner_id ORDER BY owner_id',
    [posted]
  )
  t.same(
    rows.map((row) => [row.owner_id, Number(row.n)]),
    [author, ...fans].map((id) => [id, posted.length]),
    'every follower has every tweet once'
  )
  t.match(output, /fan-out worker running: 1 loop/, 'FANOUT_WORKERS=0 still runs one loop in a worker process')

  child.kill('SIGTERM')
  t.equal(await exited, 0, `exit code 0\n${output}`)
})
