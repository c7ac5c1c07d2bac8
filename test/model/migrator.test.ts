import t from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import { createPool } from '../../model/database.ts'
import { Migrator, readMigrations } from '../../model/migrator.ts'
import { testDatabaseUrl } from '../helper.ts'

t.test('Migrator', async (t) => {
  const url = await testDatabaseUrl(t)
  const pool = createPool(url)
  t.teardown(() => pool.end())
  const tables = async () => {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()'
    )
    return rows.map((row) => row.name as string).sort()
  }
  const migrations = await readMigrations()

  t.test('up has applied every migration and a second up applies nothing', async (t) => {
    t.ok((await tables()).includes('tweets'))
    t.same(await new Migrator(url).up(), [])
  })

  t.test('down reverts every migration and up restores them', async (t) => {
    const reverted = await new Migrator(url).down(migrations.length)
    t.same(reverted, migrations.map((m) => m.version).reverse())
    t.same(await tables(), ['schema_migrations'])
    t.same(
      await new Migrator(url).up(),
      migrations.map((m) => m.version)
    )
  })

  t.test('tables use utf8mb4', async (t) => {
    const [rows] = await pool.query<RowDataPacket[]>(
      "SELECT table_name AS name, table_collation AS collation FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name <> 'schema_migrations'"
    )
    t.same(
      rows.map((row) => row.name as string).sort(),
      migrations.flatMap((m) => [...m.up.matchAll(/CREATE TABLE (\w+)/g)].map((match) => match[1])).sort(),
      'every table the migrations create is checked'
    )
    for (const row of rows) t.match(row.collation, /^utf8mb4/, row.name)
  })
})
