// Applies the numbered plain-SQL files in migrations/ (NNN_name.up.sql / NNN_name.down.sql) in order,
// recording each in schema_migrations. A named lock keeps two instances starting together from racing.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { RowDataPacket } from 'mysql2/promise'
import { createPool } from './database.ts'

export const migrationsDir = fileURLToPath(new URL('../migrations/', import.meta.url))

export interface Migration {
  version: number
  name: string
  up: string
  down: string
}

export async function readMigrations(dir = migrationsDir): Promise<Migration[]> {
  const files = await readdir(dir)
  const byVersion = new Map<number, Partial<Migration>>()
  for (const file of files) {
    const match = /^(\d+)_(.+)\.(up|down)\.sql$/.exec(file)
    if (!match) continue
    const version = Number(match[1])
    const entry = byVersion.get(version) ?? { version, name: match[2] }
    entry[match[3] as 'up' | 'down'] = await readFile(join(dir, file), 'utf8')
    byVersion.set(version, entry)
  }
  return [...byVersion.values()]
    .map((m) => {
      if (m.up === undefined || m.down === undefined) {
        throw new Error(`Migration ${m.version}_${m.name} needs both an .up.sql and a .down.sql file`)
      }
      return m as Migration
    })
    .sort((a, b) => a.version - b.version)
}

export class Migrator {
  constructor(
    private readonly databaseUrl: string,
    private readonly dir = migrationsDir
  ) {}

  /** Applies every pending migration; returns the versions applied. */
  async up(): Promise<number[]> {
    return this.withLock(async (pool) => {
      const applied = await this.appliedVersions(pool)
      const done: number[] = []
      for (const migration of await readMigrations(this.dir)) {
        if (applied.has(migration.version)) continue
        await pool.query(migration.up)
        await pool.query('INSERT INTO schema_migrations (version, name) VALUES (?, ?)', [
          migration.version,
          migration.name
        ])
        done.push(migration.version)
      }
      return done
    })
  }

  /** Reverts the newest `steps` applied migrations; returns the versions reverted. */
  async down(steps = 1): Promise<number[]> {
    return this.withLock(async (pool) => {
      const applied = await this.appliedVersions(pool)
      const migrations = (await readMigrations(this.dir)).filter((m) => applied.has(m.version)).reverse()
      const done: number[] = []
      for (const migration of migrations.slice(0, steps)) {
        await pool.query(migration.down)
        await pool.query('DELETE FROM schema_migrations WHERE version = ?', [migration.version])
        done.push(migration.version)
      }
      return done
    })
  }

  private async appliedVersions(pool: ReturnType<typeof createPool>): Promise<Set<number>> {
    await pool.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version INT UNSIGNED NOT NULL PRIMARY KEY,
         name VARCHAR(255) NOT NULL,
         applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
       ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`
    )
    const [rows] = await pool.query<RowDataPacket[]>('SELECT version FROM schema_migrations')
    return new Set(rows.map((row) => Number(row.version)))
  }

  private async withLock<T>(work: (pool: ReturnType<typeof createPool>) => Promise<T>): Promise<T> {
    // One connection, so the named lock and the statements share a session.
    const pool = createPool(this.databaseUrl, { connectionLimit: 1, multipleStatements: true })
    try {
      const [rows] = await pool.query<RowDataPacket[]>(
        "SELECT GET_LOCK(CONCAT('miniter_migrate:', DATABASE()), 120) AS locked"
      )
      if (rows[0].locked !== 1) throw new Error('Timed out waiting for another process to finish migrating')
      try {
        return await work(pool)
      } finally {
        await pool.query("SELECT RELEASE_LOCK(CONCAT('miniter_migrate:', DATABASE()))")
      }
    } finally {
      await pool.end()
    }
  }
}
