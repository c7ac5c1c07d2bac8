// `npm run migrate` (setup.ts migrate [up | down N]) as a process of its own: what it does to the database,
// what it prints and how it exits.
import { randomBytes } from 'node:crypto'
import type { RowDataPacket } from 'mysql2/promise'
import t from 'tap'
import { createPool, dropDatabase, withDatabase } from '../../model/database.ts'
import { readMigrations } from '../../model/migrator.ts'
import { testServerUrl } from '../helper.ts'
import { runSetup, serverSecret } from '../../scripts/support/processes.ts'

t.test('migrate applies and reverts migrations in a database of its own', async (t) => {
  const server = await testServerUrl()
  // A database that does not exist yet: the command creates it.
  const name = `miniter_test_${randomBytes(6).toString('hex')}`
  const databaseUrl = withDatabase(server, name)
  t.teardown(() => dropDatabase(server, name))
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    JWT_SECRET: serverSecret,
    PUBLIC_URL: 'http://127.0.0.1',
    DATABASE_URL: databaseUrl
  }
  const migrate = (...args: string[]) => runSetup(['migrate', ...args], env)
  const migrations = await readMigrations()
  const versions = migrations.map((m) => m.version)
  const tablesOf = (upTo: number) =>
    migrations
      .filter((m) => m.version <= upTo)
      .flatMap((m) => [...m.up.matchAll(/CREATE TABLE (\w+)/g)].map((match) => match[1]))
      .concat('schema_migrations')
      .sort()
  const pool = createPool(server, { connectionLimit: 1 })
  t.teardown(() => pool.end())
  /** The migrations recorded as applied and the tables there are, read from outside the process. */
  const state = async () => {
    const [tables] = await pool.query<RowDataPacket[]>(
      'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name',
      [name]
    )
    const [applied] = tables.some((row) => row.name === 'schema_migrations')
      ? await pool.query<RowDataPacket[]>(`SELECT version FROM \`${name}\`.schema_migrations ORDER BY version`)
      : [[]]
    return {
      applied: (applied as RowDataPacket[]).map((row) => Number(row.version)),
      tables: tables.map((row) => row.name as string).sort()
    }
  }
  const newest = versions.at(-1)!
  t.ok(versions.length >= 4, 'enough migrations to revert some and keep others')

  t.test('migrate creates the database and applies every migration, exiting 0', async (t) => {
    const run = await migrate()
    t.equal(run.code, 0, run.output)
    t.equal(run.stdout, 'database is up to date\n')
    t.same(await state(), { applied: versions, tables: tablesOf(newest) })
  })

  t.test('migrate up on an up-to-date database changes nothing', async (t) => {
    const run = await migrate('up')
    t.equal(run.code, 0, run.output)
    t.equal(run.stdout, 'database is up to date\n')
    t.same(await state(), { applied: versions, tables: tablesOf(newest) })
  })

  t.test('migrate down 2 reverts the two newest migrations, their tables and rows', async (t) => {
    const run = await migrate('down', '2')
    t.equal(run.code, 0, run.output)
    t.equal(run.stdout, `reverted: ${versions.at(-1)}, ${versions.at(-2)}\n`)
    t.same(await state(), { applied: versions.slice(0, -2), tables: tablesOf(versions.at(-3)!) })
  })

  t.test('migrate down 1 then reverts the newest still applied, not one it re-applied first', async (t) => {
    const run = await migrate('down', '1')
    t.equal(run.code, 0, run.output)
    t.equal(run.stdout, `reverted: ${versions.at(-3)}\n`)
    t.same(await state(), { applied: versions.slice(0, -3), tables: tablesOf(versions.at(-4)!) })
  })

  t.test('migrate down with a count that is not a positive integer exits 1 and reverts nothing', async (t) => {
    const before = await state()
    for (const count of ['0', '-1', 'abc', '1.5']) {
      const run = await migrate('down', count)
      t.equal(run.code, 1, `down ${count}: exit code 1`)
      t.match(run.output, `"${count}" is not a number of migrations`, `down ${count} says why`)
      t.same(await state(), before, `down ${count} changed nothing`)
    }
  })

  t.test('an unknown migrate command exits 1 and changes nothing', async (t) => {
    const before = await state()
    const run = await migrate('sideways')
    t.equal(run.code, 1)
    t.match(run.output, 'Unknown migrate command "sideways"')
    t.same(await state(), before)
  })

  t.test('migrate applies what was reverted', async (t) => {
    const run = await migrate('up')
    t.equal(run.code, 0, run.output)
    t.same(await state(), { applied: versions, tables: tablesOf(newest) })
  })
})
