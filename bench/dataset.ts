// The shape of the benchmark data, shared by the seeder and the runner, and where its databases live.
import type { RowDataPacket } from 'mysql2/promise'
import { createPool, withDatabase } from '../model/database.ts'
import { resolveDatabaseServer, type DatabaseServer } from '../model/database-server.ts'

export const defaultSizes = ['100k', '1m', '10m']

/** Every seeded user logs in with this password (one bcrypt hash, computed once per seed). */
export const benchPassword = 'benchmark password'

/** Seeded emails are prefix + id + domain; the seed builds them in SQL from the same parts. */
export const emailParts = { prefix: 'bench-user-', domain: '@example.com' }

export function emailOf(userId: number): string {
  return `${emailParts.prefix}${userId}${emailParts.domain}`
}

export interface DatasetShape {
  users: number
  /** Followees per ordinary user, celebrities included. */
  followsPerUser: number
  /** Users 1..celebrities are the accounts everyone follows. */
  celebrities: number
  /** How many accounts the heavy user follows. */
  heavyFollows: number
}

export const defaultShape: DatasetShape = { users: 10_000, followsPerUser: 50, celebrities: 10, heavyFollows: 5_000 }

/** The heavy user is the first one after the celebrities, so its id never depends on the user count. */
export function heavyUserId(shape: Pick<DatasetShape, 'celebrities'>): number {
  return shape.celebrities + 1
}

const multipliers: Record<string, number> = { '': 1, k: 1_000, m: 1_000_000 }

/** "100k" → 100000, "1m" → 1000000, "250000" → 250000. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim())
  if (!match) throw new Error(`Unsupported size "${text}": use a tweet count such as 100k, 1m, 10m or 250000`)
  const count = Math.round(Number(match[1]) * multipliers[match[2].toLowerCase()])
  if (count < 1) throw new Error(`Size "${text}" must be at least one tweet`)
  return count
}

/** The short label used in database names and reports: 100000 → "100k", 10000000 → "10m". */
export function sizeLabel(count: number): string {
  if (count % 1_000_000 === 0) return `${count / 1_000_000}m`
  if (count % 1_000 === 0) return `${count / 1_000}k`
  return String(count)
}

export function parseSizes(text: string): number[] {
  const sizes = text
    .split(',')
    .filter((part) => part.trim() !== '')
    .map(parseSize)
  if (sizes.length === 0) throw new Error('--sizes needs at least one size, e.g. 100k,1m')
  return [...new Set(sizes)]
}

export function benchDatabaseName(tweets: number): string {
  return `miniter_bench_${sizeLabel(tweets)}`
}

/** BENCH_DATABASE_URL, else the server the app itself would use (DATABASE_URL, local, private instance). */
export function benchDatabaseServer(): Promise<DatabaseServer> {
  // Only the server part of the URL counts: each size has its own database on it.
  return resolveDatabaseServer(process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL)
}

export interface SeededDatabase {
  tweets: number
  name: string
  url: string
  users: number
}

export class MissingDatabase extends Error {}

/**
 * Checks that a seed of this size finished and removes tweets a previous run posted, so every run
 * starts from the same data. Tweets beyond the seeded count can only come from POST /tweet runs.
 */
export async function openSeeded(serverUrl: string, tweets: number): Promise<SeededDatabase> {
  const name = benchDatabaseName(tweets)
  const url = withDatabase(serverUrl, name)
  const hint = `run \`npm run bench:seed -- --sizes ${sizeLabel(tweets)}\` first`
  const server = createPool(withDatabase(serverUrl, undefined), { connectionLimit: 1 })
  try {
    const [schemas] = await server.query<RowDataPacket[]>(
      'SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [name]
    )
    if (schemas.length === 0) throw new MissingDatabase(`Benchmark database ${name} is missing: ${hint}`)
  } finally {
    await server.end()
  }
  const pool = createPool(url, { connectionLimit: 1 })
  try {
    const [[counts]] = await pool.query<RowDataPacket[]>(
      'SELECT (SELECT MAX(id) FROM users) AS users, (SELECT MAX(id) FROM tweets) AS tweets'
    )
    if (!counts.users || !counts.tweets || Number(counts.tweets) < tweets) {
      throw new MissingDatabase(`Benchmark database ${name} is incomplete (an interrupted seed?): ${hint}`)
    }
    await pool.query('DELETE FROM tweets WHERE id > ?', [tweets])
    return { tweets, name, url, users: Number(counts.users) }
  } catch (error) {
    if ((error as { code?: string }).code === 'ER_NO_SUCH_TABLE') {
      throw new MissingDatabase(`Benchmark database ${name} has no tables: ${hint}`)
    }
    throw error
  } finally {
    await pool.end()
  }
}
