// Applies the numbered plain-SQL files in migrations/ (NNN_name.up.sql / NNN_name.down.sql) in order,
// recording each in schema_migrations, after adopting a database made by the book's SQL. A named lock
// keeps two instances starting together from racing.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { RowDataPacket } from 'mysql2/promise'
import type { Progress } from './batches.ts'
import { BookAdoption, unadoptable, type BookCounts } from './book-adoption.ts'
import { createPool, databaseName, type Pool } from './database.ts'
import { DatabaseRefused, refusal, surveyDatabase, type DatabaseSurvey } from './database-survey.ts'
import { backfills, withoutReplaced } from './migration-backfills.ts'

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

/** `002_timeline`: how the files name a migration. */
export function migrationLabel(migration: Pick<Migration, 'version' | 'name'>): string {
  return `${String(migration.version).padStart(3, '0')}_${migration.name}`
}

export interface MigratorOptions {
  /** FANOUT_MAX_FOLLOWERS, for the fan-out modes of accounts that already have followers (migrations/002). */
  fanoutMaxFollowers?: number
  /** Where progress lines of long steps go (adopting the book's database, backfills of existing rows). */
  progress?: Progress
}

/** What up() would do, read without writing anything (`npm run migrate -- --dry-run`). */
export interface MigrationPlan {
  survey: DatabaseSurvey
  /** Why up() would refuse the database, changing nothing. */
  refusal?: string
  /** The book's database: its rows, and the adoption's steps before migration 001 is recorded. */
  adoption?: { counts: BookCounts; steps: string[] }
  /** What up() would apply, in order (001 included for an adopted database: recorded as the baseline). */
  pending: Pick<Migration, 'version' | 'name'>[]
}

export class Migrator {
  /** Whether the last up() adopted the book's database. */
  adopted = false
  private readonly progress: Progress

  constructor(
    private readonly databaseUrl: string,
    private readonly dir = migrationsDir,
    private readonly options: MigratorOptions = {}
  ) {
    this.progress = options.progress ?? (() => {})
  }

  /**
   * Applies every pending migration; returns the versions applied. What the database holds is looked at
   * first, before anything is written: nothing or Miniter's schema is migrated; the book's three tables
   * are adopted (model/book-adoption.ts), then migrated from 001 on; anything else is refused
   * (DatabaseRefused) untouched.
   */
  async up(): Promise<number[]> {
    this.adopted = false
    return this.withLock(async (pool) => {
      const survey = await surveyDatabase(pool)
      if (survey.kind === 'unknown') throw new DatabaseRefused(refusal(this.databaseName, survey.why))
      const migrations = await readMigrations(this.dir)
      const done: number[] = []
      const init = migrations.find((m) => m.version === 1)
      const adoption = new BookAdoption(pool, this.progress)
      if (survey.kind === 'book') {
        if (!init) throw new Error("Adopting the book's database needs migrations/001")
        await adoption.adopt(survey, init.up)
        this.adopted = true
      }
      await this.createMigrationsTable(pool)
      if (this.adopted && init) {
        await this.record(pool, init)
        this.progress(`  recorded ${migrationLabel(init)} as the baseline`)
        done.push(init.version)
        await adoption.keepUpdatedAt()
      }
      const applied = await this.appliedVersions(pool)
      for (const migration of migrations) {
        if (applied.has(migration.version)) continue
        await this.apply(pool, migration)
        done.push(migration.version)
      }
      if (this.adopted) await adoption.restoreUpdatedAt()
      return done
    })
  }

  /** What up() would do, without writing anything. */
  async plan(): Promise<MigrationPlan> {
    const pool = createPool(this.databaseUrl, { connectionLimit: 1 })
    try {
      const survey = await surveyDatabase(pool)
      const migrations = await readMigrations(this.dir)
      const all = migrations.map(({ version, name }) => ({ version, name }))
      switch (survey.kind) {
        case 'unknown':
          return { survey, refusal: refusal(this.databaseName, survey.why), pending: [] }
        case 'empty':
          return { survey, pending: all }
        case 'miniter': {
          const applied = await this.appliedVersions(pool)
          return { survey, pending: all.filter((m) => !applied.has(m.version)) }
        }
        case 'book': {
          const adoption = new BookAdoption(pool, this.progress)
          const problems = await adoption.problems(survey)
          if (problems) return { survey, refusal: unadoptable(problems), pending: [] }
          const counts = await adoption.counts(survey)
          return { survey, adoption: { counts, steps: adoption.steps(survey, counts) }, pending: all }
        }
      }
    } finally {
      await pool.end()
    }
  }

  /** Reverts the newest `steps` applied migrations; returns the versions reverted. */
  async down(steps = 1): Promise<number[]> {
    return this.withLock(async (pool) => {
      // Only Miniter's schema has migrations to revert: any other database is left as it is.
      if ((await surveyDatabase(pool)).kind !== 'miniter') return []
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

  /**
   * One migration, then what its backfill (model/migration-backfills.ts) computes in batches instead of
   * the statements it replaces, then its record. On an adoption every step says how long it took.
   */
  private async apply(pool: Pool, migration: Migration): Promise<void> {
    const label = migrationLabel(migration)
    const started = performance.now()
    if (this.adopted) this.progress(`applying ${label}`)
    const backfill = backfills.get(migration.version)
    await pool.query(backfill ? withoutReplaced(migration.up, backfill, label) : migration.up)
    if (backfill) {
      await backfill.run({ db: pool, progress: this.progress, fanoutMaxFollowers: this.options.fanoutMaxFollowers })
    }
    await this.record(pool, migration)
    if (this.adopted) this.progress(`  applied in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  }

  private async record(pool: Pool, migration: Migration): Promise<void> {
    await pool.query('INSERT INTO schema_migrations (version, name) VALUES (?, ?)', [migration.version, migration.name])
  }

  private get databaseName(): string {
    return databaseName(this.databaseUrl) ?? ''
  }

  private async createMigrationsTable(pool: Pool): Promise<void> {
    await pool.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version INT UNSIGNED NOT NULL PRIMARY KEY,
         name VARCHAR(255) NOT NULL,
         applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
       ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`
    )
  }

  private async appliedVersions(pool: Pool): Promise<Set<number>> {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT version FROM schema_migrations')
    return new Set(rows.map((row) => Number(row.version)))
  }

  private async withLock<T>(work: (pool: Pool) => Promise<T>): Promise<T> {
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
