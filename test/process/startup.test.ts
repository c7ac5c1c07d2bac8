// What `npm start` says when it is up: where it listens, which database, created or not, migrations applied.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { createPool, dropDatabase, withDatabase } from '../../model/database.ts'
import { readMigrations } from '../../model/migrator.ts'
import { testDatabaseUrl, testServerUrl } from '../helper.ts'
import { runSetup, startServer, type ServerProcess } from '../../scripts/support/processes.ts'

/** The start-up line from the JSON log, once the server has written it (bounded by the test's timeout). */
async function startupLine(server: ServerProcess): Promise<{ msg: string; line: string }> {
  for (;;) {
    const line = server
      .output()
      .split('\n')
      .find((l) => l.includes('Miniter is listening'))
    if (line) return { msg: (JSON.parse(line) as { msg: string }).msg, line }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function stop(server: ServerProcess): Promise<void> {
  server.child.kill('SIGTERM')
  await server.exited
}

t.test(
  'start-up says where it listens, which database, whether it was created, and the migrations applied',
  async (t) => {
    const serverUrl = await testServerUrl()
    const name = `miniter_test_${randomBytes(6).toString('hex')}`
    // A user with a password of its own, to show the password never reaches the log.
    const user = name.slice(0, 32)
    const password = `pw-${randomBytes(8).toString('hex')}`
    const admin = createPool(serverUrl, { connectionLimit: 1 })
    t.teardown(async () => {
      await dropDatabase(serverUrl, name)
      await admin.query('DROP USER IF EXISTS ?@?', [user, '%'])
      await admin.end()
    })
    await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password])
    await admin.query(`GRANT ALL ON \`${name}\`.* TO ?@?`, [user, '%'])
    const url = new URL(withDatabase(serverUrl, name))
    url.username = user
    url.password = password
    const env = { DATABASE_URL: url.toString(), LOG_LEVEL: 'info' }
    const migrations = (await readMigrations()).length
    const where = `database "${name}" on ${url.hostname}:${url.port || 3306} (DATABASE_URL)`

    const first = await startServer({ env })
    t.teardown(() => first.child.kill('SIGKILL'))
    const { msg, line } = await startupLine(first)
    t.equal(msg, `Miniter is listening at ${first.url}; ${where}: created, ${migrations} migrations applied`)
    t.notMatch(line, password, 'the password is not in the line')
    t.notMatch(first.output(), password, 'nor anywhere in the log')
    t.notMatch(first.output(), /Warning/, 'a default start prints no warnings (the AWS SDK is not even loaded)')
    await stop(first)

    const second = await startServer({ env })
    t.teardown(() => second.child.kill('SIGKILL'))
    t.equal(
      (await startupLine(second)).msg,
      `Miniter is listening at ${second.url}; ${where}: already there, no migration pending`
    )
    await stop(second)
  }
)

const productionRefusals = [
  {
    missing: 'JWT_SECRET',
    message: 'JWT_SECRET must be set when NODE_ENV=production (at least 32 characters).'
  },
  {
    missing: 'DATABASE_URL',
    message: 'DATABASE_URL must be set when NODE_ENV=production (mysql://user:pass@host:port/db).',
    why: 'rather than guess or spawn a database'
  },
  {
    missing: 'PUBLIC_URL',
    message:
      'PUBLIC_URL must be set when NODE_ENV=production (the origin clients reach the server at, e.g. https://miniter.example).',
    why: 'with local storage'
  }
]

for (const { missing, message, why } of productionRefusals) {
  t.test(`production refuses to start without ${missing}${why ? ` ${why}` : ''}: exit 1, saying so`, async (t) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'production',
      JWT_SECRET: randomBytes(32).toString('hex'),
      PUBLIC_URL: 'https://miniter.example',
      DATABASE_URL: await testDatabaseUrl(t),
      STORAGE: 'local',
      PORT: '0'
    }
    delete env[missing]
    // A server that started after all would listen until killed.
    const run = await runSetup([], env, 30_000)
    t.equal(run.code, 1)
    t.equal(run.output, `${message}\n`, 'the reason is all it prints')
  })
}
