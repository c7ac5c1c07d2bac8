// Shared test set-up: a fresh, migrated, throwaway database per test file, and the whole app on top.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApp, buildServices, type AppConfig } from '../app.ts'
import { loadConfig, type Config } from '../config.ts'
import type { RowDataPacket } from 'mysql2/promise'
import {
  createDatabase,
  createPool,
  dropDatabase,
  withDatabase,
  type Pool,
  type PoolSettings
} from '../model/database.ts'
import { resolveDatabaseServer } from '../model/database-server.ts'
import { Migrator } from '../model/migrator.ts'

interface Teardown {
  teardown(fn: () => unknown): void
}

let serverUrl: Promise<string> | undefined

/** The server the tests use: DATABASE_URL, the local server, or the private instance test/before.ts started. */
export function testServerUrl(): Promise<string> {
  serverUrl ??= resolveDatabaseServer(process.env.DATABASE_URL).then((server) => server.url)
  return serverUrl
}

/** Creates an empty database (no migration applied) that is dropped when the test ends; returns its URL. */
export async function emptyTestDatabaseUrl(t: Teardown): Promise<string> {
  const server = await testServerUrl()
  const name = `miniter_test_${randomBytes(6).toString('hex')}`
  await createDatabase(server, name)
  t.teardown(() => dropDatabase(server, name))
  return withDatabase(server, name)
}

/** Creates and migrates a database that is dropped when the test ends; returns its URL. */
export async function testDatabaseUrl(t: Teardown): Promise<string> {
  const url = await emptyTestDatabaseUrl(t)
  await new Migrator(url).up()
  return url
}

/** A pool on a fresh throwaway database, closed at teardown (before the database is dropped). */
export async function testPool(t: Teardown, settings: PoolSettings = {}): Promise<Pool> {
  const pool = createPool(await testDatabaseUrl(t), settings)
  t.teardown(() => pool.end())
  return pool
}

/** The error `work` throws or rejects with, for its class, message and fields to be asserted; none fails. */
export async function rejection(work: () => unknown): Promise<unknown> {
  try {
    await work()
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

/**
 * Rows the server read (its session's Handler_read_* counters: index and table reads) while `work`
 * ran. The pool must hold one connection, so that every statement of `work` runs in that session.
 */
export async function rowsRead(pool: Pool, work: () => Promise<unknown>): Promise<number> {
  if ((pool.pool as unknown as { config: { connectionLimit: number } }).config.connectionLimit !== 1) {
    throw new Error('rowsRead needs a pool of one connection')
  }
  const counters = async () => {
    const [rows] = await pool.query<RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Handler\\_read\\_%'")
    return rows.reduce((sum, row) => sum + Number(row.Value), 0)
  }
  const before = await counters()
  await work()
  return (await counters()) - before
}

/** The base URL service tests give LocalStorage: a stored file's URL is `${testPublicUrl}/uploads/<key>`. */
export const testPublicUrl = 'https://files.miniter.test'

/** The storage key in a LocalStorage URL under `publicUrl`; throws when the URL is not one. */
export function localKeyOf(url: string, publicUrl = testPublicUrl): string {
  const prefix = `${publicUrl}/uploads/`
  if (!url.startsWith(prefix)) throw new Error(`${url} is not a stored file's URL under ${prefix}`)
  return url.slice(prefix.length)
}

export async function testUploadDir(t: Teardown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'miniter-uploads-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** The Redis the tests use: TEST_REDIS_URL, else the local one (.ci/run starts it when it is not running). */
export const testRedisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Settings for an app on the test Redis, with keys of its own (apps given the same settings share them). */
export function testRedisEnv(): { REDIS_URL: string; REDIS_KEY_PREFIX: string } {
  return { REDIS_URL: testRedisUrl, REDIS_KEY_PREFIX: `miniter-test:${randomBytes(6).toString('hex')}:` }
}

export interface TestAppOptions {
  /** Rewrites the throwaway database's URL, e.g. to reach it through a DatabaseProxy. */
  databaseUrl?: (url: string) => string
}

export async function testConfig(
  t: Teardown,
  env: Record<string, string> = {},
  options: TestAppOptions = {}
): Promise<Config & { databaseUrl: string }> {
  const databaseUrl = await testDatabaseUrl(t)
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    BCRYPT_ROUNDS: '4',
    JWT_SECRET: randomBytes(32).toString('hex'),
    UPLOAD_DIR: await testUploadDir(t),
    // Limits that tests of other things never meet, and no load shedding on a busy test machine;
    // test/view/security.test.ts sets its own.
    RATE_LIMIT_MAX: '1000000',
    LOGIN_RATE_LIMIT_PER_IP: '1000000',
    LOGIN_RATE_LIMIT_PER_EMAIL: '1000000',
    LOGIN_RATE_LIMIT_PER_EMAIL_TOTAL: '1000000',
    SIGNUP_RATE_LIMIT_PER_IP: '1000000',
    SIGNUP_RATE_LIMIT_TAKEN_PER_IP: '1000000',
    MAX_EVENT_LOOP_DELAY_MS: '0',
    MAX_HEAP_USED_BYTES: '0',
    // Fan-out runs when a test says so (drainFanout), so what a timeline holds never depends on timing;
    // test/view/fanout.test.ts runs the background workers.
    FANOUT_WORKERS: '0',
    // A listening server purges media once at start and then never on its own: tests call purgeMedia.
    PURGE_INTERVAL: '0',
    ...env
  })
  return { ...config, databaseUrl: options.databaseUrl ? options.databaseUrl(databaseUrl) : databaseUrl }
}

/** The app and its services, as `npm start` composes them (buildTestApp adds the database and teardown). */
export async function appFor(config: AppConfig): Promise<FastifyInstance> {
  return buildApp(config, await buildServices(config))
}

/** The whole app on a throwaway database, closed at teardown. */
export async function buildTestApp(
  t: Teardown,
  env: Record<string, string> = {},
  options: TestAppOptions = {}
): Promise<FastifyInstance> {
  const app = await appFor(await testConfig(t, env, options))
  t.teardown(() => app.close())
  await app.ready()
  return app
}

export interface TestUser {
  id: number
  token: string
  email: string
  password: string
  /** Generated from the email: `${name in lower case}${n}_${six hex digits}`. */
  username: string
}

let counter = 0

/** Signs a user up and logs them in through the API. */
export async function signUpAndLogin(app: FastifyInstance, name = 'user'): Promise<TestUser> {
  counter += 1
  const email = `${name.toLowerCase()}${counter}-${randomBytes(3).toString('hex')}@example.com`
  const password = 'correct horse battery'
  const signUp = await app.inject({
    method: 'POST',
    url: '/sign-up',
    payload: { name, email, password, profile: `${name}'s profile` }
  })
  if (signUp.statusCode !== 200) throw new Error(`sign-up failed: ${signUp.statusCode} ${signUp.body}`)
  const login = await app.inject({ method: 'POST', url: '/login', payload: { email, password } })
  if (login.statusCode !== 200) throw new Error(`login failed: ${login.statusCode} ${login.body}`)
  const { user_id, access_token } = login.json()
  return { id: user_id, token: access_token, email, password, username: signUp.json().username }
}
