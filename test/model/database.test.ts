import t from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import { createPool, statementTimeoutErrnos, type Pool } from '../../model/database.ts'
import { testDatabaseUrl } from '../helper.ts'

async function one(pool: Pool, sql: string): Promise<RowDataPacket> {
  const [rows] = await pool.query<RowDataPacket[]>(sql)
  return rows[0]
}

t.test('the server stops a statement at 90% of the query timeout', async (t) => {
  const url = await testDatabaseUrl(t)
  const pool = createPool(url, { connectionLimit: 1, queryTimeoutMs: 1000 })
  t.teardown(() => pool.end())
  const unlimited = createPool(url, { connectionLimit: 1, queryTimeoutMs: 0 })
  t.teardown(() => unlimited.end())
  const mariadb = /mariadb/i.test((await one(pool, 'SELECT VERSION() AS v')).v as string)

  t.test('every session carries the limit in its server’s own variable; 0 sets none', async (t) => {
    const variable = mariadb ? '@@session.max_statement_time' : '@@session.max_execution_time'
    t.equal(Number((await one(pool, `SELECT ${variable} AS v`)).v), mariadb ? 0.9 : 900)
    t.equal(Number((await one(unlimited, `SELECT ${variable} AS v`)).v), 0)
  })

  t.test('a long statement fails with the server’s timeout error, and the connection stays usable', async (t) => {
    const session = (await one(pool, 'SELECT CONNECTION_ID() AS id')).id as number
    // SLEEP is interrupted on both servers, but only MariaDB reports it as an error for SLEEP.
    const long = mariadb
      ? 'SELECT SLEEP(5)'
      : 'SELECT COUNT(*) FROM information_schema.columns a, information_schema.columns b, information_schema.columns c'
    const error = await pool.query(long).then(
      () => undefined,
      (failure: { errno?: number }) => failure
    )
    t.ok(error && statementTimeoutErrnos.has(error.errno ?? 0), `stopped with errno ${error?.errno}`)
    t.equal(
      (await one(pool, 'SELECT CONNECTION_ID() AS id')).id,
      session,
      'the same session answers: the server stopped it'
    )
  })
})
