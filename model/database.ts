// The mysql2 pool and the server-level statements (create/drop a database) that setup and tests need.
import type { Socket } from 'node:net'
import mysql, {
  type Pool,
  type PoolConnection,
  type PoolOptions,
  type ResultSetHeader,
  type RowDataPacket
} from 'mysql2/promise'

export type { Pool, PoolConnection } from 'mysql2/promise'

export interface PoolSettings {
  connectionLimit?: number
  /** Bound on how long a request waits to connect, so a dead database fails fast instead of hanging. */
  connectTimeoutMs?: number
  /**
   * How long a connection in use may wait for the server before it is destroyed, failing its statement
   * with PROTOCOL_SEQUENCE_TIMEOUT; the server itself stops a statement after 90% of it (see
   * limitStatementTime). 0: no limit.
   */
  queryTimeoutMs?: number
  /** Requests allowed to wait for a free connection; more fail at once with "Queue limit reached". 0: no limit. */
  queueLimit?: number
  multipleStatements?: boolean
}

export function createPool(databaseUrl: string, settings: PoolSettings = {}): Pool {
  const url = new URL(databaseUrl)
  const options: PoolOptions = {
    host: url.hostname,
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: databaseName(databaseUrl),
    socketPath: url.searchParams.get('socket') ?? undefined,
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
    connectionLimit: settings.connectionLimit ?? 10,
    queueLimit: settings.queueLimit ?? 0,
    connectTimeout: settings.connectTimeoutMs ?? 5000,
    multipleStatements: settings.multipleStatements ?? false,
    enableKeepAlive: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: true,
    // mysql2 would capture a stack trace on every call to point errors at their caller: a cost paid by
    // every query for the rare failure, whose message already names the statement.
    trace: false
  }
  const pool = mysql.createPool(options)
  // DATETIME columns hold UTC: every session must agree, whatever the server's own time zone. READ
  // COMMITTED is set once per session here rather than once per transaction: a round trip saved per write.
  pool.pool.on('connection', (connection) => {
    connection.query("SET time_zone = '+00:00'")
    connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED')
  })
  if (settings.queryTimeoutMs) {
    limitStatementTime(pool, Math.floor(settings.queryTimeoutMs * statementShareOfQueryTimeout))
    limitServerSilence(pool, settings.queryTimeoutMs)
  }
  return pool
}

/**
 * The server's limit as a share of the client's: a statement the server stops answers with its own
 * error before the client gives up on the connection, which stays usable.
 */
const statementShareOfQueryTimeout = 0.9

/** Server errors of a statement stopped at its time limit: MariaDB ER_STATEMENT_TIMEOUT, MySQL ER_QUERY_TIMEOUT. */
export const statementTimeoutErrnos: ReadonlySet<number> = new Set([1969, 3024])

/**
 * A client that gives up on a statement does not stop it: the server would run it to the end, holding
 * its locks. So every session asks the server to stop statements after timeoutMs itself. MariaDB's
 * max_statement_time (seconds) covers every statement; MySQL's max_execution_time (ms) covers
 * read-only SELECTs. The flavour comes from the version string of the connection's handshake.
 */
function limitStatementTime(pool: Pool, timeoutMs: number): void {
  pool.pool.on('connection', (connection) => {
    const handshake = (connection as unknown as { _handshakePacket?: { serverVersion?: string } })._handshakePacket
    if (/mariadb/i.test(handshake?.serverVersion ?? '')) {
      connection.query('SET SESSION max_statement_time = ?', [timeoutMs / 1000])
    } else {
      connection.query('SET SESSION max_execution_time = ?', [timeoutMs])
    }
  })
}

/**
 * mysql2 times out only connecting, and a per-statement `timeout` leaves the connection stuck behind a
 * reply that never comes. So the socket of a connection that is in use may stay silent for at most
 * timeoutMs: then it is destroyed, which fails its statements and removes it from the pool. Idle
 * connections are left alone.
 */
function limitServerSilence(pool: Pool, timeoutMs: number): void {
  const inUse = new WeakSet<object>()
  pool.pool.on('acquire', (connection) => inUse.add(connection))
  pool.pool.on('release', (connection) => inUse.delete(connection))
  pool.pool.on('connection', (connection) => {
    const socket = (connection as unknown as { stream: Socket }).stream
    socket.setTimeout(timeoutMs)
    socket.on('timeout', () => {
      if (!inUse.has(connection)) return
      const error = Object.assign(new Error('Query inactivity timeout'), { code: 'PROTOCOL_SEQUENCE_TIMEOUT' })
      socket.destroy(error)
    })
  })
}

export function databaseName(databaseUrl: string): string | undefined {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''))
  return name === '' ? undefined : name
}

/** The same server URL pointing at another database (or at none). */
export function withDatabase(databaseUrl: string, name: string | undefined): string {
  const url = new URL(databaseUrl)
  url.pathname = name ? `/${encodeURIComponent(name)}` : '/'
  return url.toString()
}

const safeName = /^[A-Za-z0-9_]+$/

function assertSafeName(name: string): void {
  // Database names cannot be placeholders in MySQL, so they are restricted to a safe alphabet.
  if (!safeName.test(name)) throw new Error(`Unsupported database name: ${name}`)
}

/** Creates the database unless it exists; true when this call created it. */
export async function createDatabase(serverUrl: string, name: string): Promise<boolean> {
  assertSafeName(name)
  const pool = createPool(withDatabase(serverUrl, undefined), { connectionLimit: 1 })
  try {
    const [result] = await pool.query<ResultSetHeader>(
      `CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`
    )
    // An existing database is a warning with nothing affected.
    return result.affectedRows === 1
  } finally {
    await pool.end()
  }
}

/** Whether the database exists, read without creating it. */
export async function databaseExists(serverUrl: string, name: string): Promise<boolean> {
  const pool = createPool(withDatabase(serverUrl, undefined), { connectionLimit: 1 })
  try {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [name]
    )
    return rows.length > 0
  } finally {
    await pool.end()
  }
}

export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  assertSafeName(name)
  const pool = createPool(withDatabase(serverUrl, undefined), { connectionLimit: 1 })
  try {
    await pool.query(`DROP DATABASE IF EXISTS \`${name}\``)
  } finally {
    await pool.end()
  }
}

/** True when a server answers at this URL (credentials included). */
export async function canConnect(serverUrl: string): Promise<boolean> {
  const pool = createPool(withDatabase(serverUrl, undefined), { connectionLimit: 1, connectTimeoutMs: 2000 })
  try {
    await pool.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await pool.end()
  }
}

export type Queryable = Pool | PoolConnection

/** Keyset ids above `after` and below `before`, read from the newest end or, with oldestFirst, the oldest. */
export interface IdWindow {
  after: number
  before: number
  oldestFirst: boolean
}

/** `ORDER BY` for a window's reading order. */
export const orderOf = (window: { oldestFirst: boolean }): 'ASC' | 'DESC' => (window.oldestFirst ? 'ASC' : 'DESC')

const retriedCodes = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'])

/**
 * Runs units of work in READ COMMITTED transactions (the pool sets it per session: no gap locks;
 * ordering comes from explicit row locks on users). A deadlock victim is retried, since InnoDB expects
 * callers to.
 */
export class Transactor {
  /** For a DAO write that runs on its own: each statement commits at once, outside any transaction. */
  readonly autocommit: Queryable

  constructor(private readonly pool: Pool) {
    this.autocommit = pool
  }

  async run<T>(work: (connection: PoolConnection) => Promise<T>, attempts = 3): Promise<T> {
    return this.retrying(async () => {
      const connection = await this.pool.getConnection()
      try {
        await connection.beginTransaction()
        const result = await work(connection)
        await connection.commit()
        return result
      } catch (error) {
        await connection.rollback().catch(() => {})
        throw error
      } finally {
        connection.release()
      }
    }, attempts)
  }

  /** Runs a self-contained transaction (one statement or procedure call), retrying a deadlock victim. */
  async retrying<T>(work: () => Promise<T>, attempts = 3): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work()
      } catch (error) {
        if (attempt >= attempts || !retriedCodes.has((error as { code?: string }).code ?? '')) throw error
      }
    }
  }
}

/** A pool's connections right now: busy with a query or transaction, idle, and requests waiting for one. */
export interface PoolUsage {
  inUse: number
  idle: number
  waiting: number
}

/** Read from mysql2's pool, which keeps these counts but does not publish them. */
export function poolUsage(pool: Pool): PoolUsage {
  const inner = (pool as unknown as { pool: Record<string, { length: number }> }).pool
  const all = inner._allConnections.length
  const idle = inner._freeConnections.length
  return { inUse: all - idle, idle, waiting: inner._connectionQueue.length }
}
