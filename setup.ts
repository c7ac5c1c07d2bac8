// The process: config, database ready and migrated, then one of: `serve` (default: buildApp, listen,
// fan-out workers), `worker` (fan-out workers only), `migrate [up | down [N]]`, `purge` (media) — graceful close.
import closeWithGrace from 'close-with-grace'
import { buildApp, buildServices } from './app.ts'
import { ConfigError, loadConfig, type Config } from './config.ts'
import { createDatabase, databaseName, withDatabase } from './model/database.ts'
import type { DatabaseServer } from './model/database-server.ts'
import { Migrator } from './model/migrator.ts'

const defaultDatabase = 'miniter'

interface PreparedDatabase {
  server: DatabaseServer
  databaseUrl: string
  /** Where and what, for the start-up line: never the credentials. */
  database: {
    host: string
    port: number
    name: string
    source: DatabaseServer['source']
    created: boolean
    migrations_applied: number
  }
}

/**
 * DATABASE_URL's server. Without it, outside production only, a development convenience finds the
 * local server or starts a private one (model/database-server.ts, loaded only then); production never
 * guesses or spawns a database.
 */
async function databaseServer(config: Config): Promise<DatabaseServer> {
  if (config.databaseUrl) {
    return { url: withDatabase(config.databaseUrl, undefined), source: 'DATABASE_URL', stop: async () => {} }
  }
  if (config.env === 'production') {
    throw new ConfigError('DATABASE_URL must be set when NODE_ENV=production (mysql://user:pass@host:port/db).')
  }
  const { resolveDatabaseServer } = await import('./model/database-server.ts')
  return resolveDatabaseServer(undefined)
}

/**
 * Finds (or starts) the server, creates the database if missing and applies pending migrations (unless
 * `migrateUp` is false: `migrate down` reverts what is applied, not what it would first have re-applied).
 */
export async function prepareDatabase(config: Config, migrateUp = true): Promise<PreparedDatabase> {
  const server = await databaseServer(config)
  const name = (config.databaseUrl && databaseName(config.databaseUrl)) || defaultDatabase
  const databaseUrl = withDatabase(server.url, name)
  try {
    const created = await createDatabase(server.url, name)
    const applied = migrateUp ? await new Migrator(databaseUrl).up() : []
    const { hostname, port } = new URL(server.url)
    const database = {
      host: hostname,
      port: Number(port || 3306),
      name,
      source: server.source,
      created,
      migrations_applied: applied.length
    }
    return { server, databaseUrl, database }
  } catch (error) {
    await server.stop()
    throw error
  }
}

/** `database "miniter" on 127.0.0.1:3306 (local server): created, 7 migrations applied` */
function describeDatabase({
  host,
  port,
  name,
  source,
  created,
  migrations_applied: applied
}: PreparedDatabase['database']): string {
  const migrations = applied === 0 ? 'no migration pending' : `${applied} migration${applied === 1 ? '' : 's'} applied`
  return `database "${name}" on ${host}:${port} (${source}): ${created ? 'created' : 'already there'}, ${migrations}`
}

async function serve(config: Config): Promise<void> {
  const { server, databaseUrl, database } = await prepareDatabase(config)
  const appConfig = { ...config, databaseUrl }
  const app = await buildApp(appConfig, await buildServices(appConfig))
  if (!process.env.JWT_SECRET)
    app.log.warn('JWT_SECRET is not set: using a random secret, tokens end with this process')
  closeWithGrace({ delay: config.shutdownGraceMs, logger: app.log }, async ({ err, signal }) => {
    if (err) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down: no new connections, finishing requests in flight')
    await app.close()
    await server.stop()
  })
  // Listening also starts the media purge: now, then every PURGE_INTERVAL.
  const address = await app.listen({ port: config.port, host: config.host })
  const everywhere = config.host === '0.0.0.0' || config.host === '::' ? ` (HOST=${config.host}: every interface)` : ''
  app.log.info({ address, database }, `Miniter is listening at ${address}${everywhere}; ${describeDatabase(database)}`)
}

async function purge(config: Config): Promise<void> {
  const { server, databaseUrl } = await prepareDatabase(config)
  try {
    const services = await buildServices({ ...config, databaseUrl })
    try {
      const report = await services.purgeSchedule.runOnce()
      process.stdout.write(
        `erased ${report.accounts} deleted accounts; ` +
          `purged ${report.pending} abandoned uploads, ${report.expired} expired media (${report.unattached} never attached) ` +
          `and ${report.objects} unreferenced objects; ${report.failed.length} failed\n`
      )
      if (report.failed.length > 0) process.exitCode = 1
    } finally {
      await services.close()
    }
  } finally {
    await server.stop()
  }
}

/** Fan-out workers without the HTTP API, so a deployment can scale writers and fan-out separately. */
async function worker(config: Config): Promise<void> {
  const { server, databaseUrl, database } = await prepareDatabase(config)
  // FANOUT_WORKERS=0 means "none in the API processes"; a worker process always runs at least one loop.
  const workers = Math.max(1, config.fanout.workers)
  const services = await buildServices({ ...config, databaseUrl, fanout: { ...config.fanout, workers } })
  const { log } = services
  closeWithGrace({ delay: config.shutdownGraceMs, logger: log }, async ({ err, signal }) => {
    if (err) log.error({ err }, 'shutting down after an error')
    else log.info({ signal }, 'shutting down: finishing the fan-out rows in hand')
    await services.close()
    await server.stop()
  })
  services.fanoutWorker.start()
  log.info(
    { database, workers },
    `fan-out worker running: ${workers} loop${workers === 1 ? '' : 's'}; ${describeDatabase(database)}`
  )
}

async function migrate(config: Config, args: string[]): Promise<void> {
  const [direction = 'up', count = '1'] = args
  if (direction !== 'up' && direction !== 'down') {
    throw new ConfigError(`Unknown migrate command "${direction}"; use migrate, migrate up or migrate down [N]`)
  }
  const steps = Number(count)
  if (direction === 'down' && !(Number.isSafeInteger(steps) && steps > 0)) {
    throw new ConfigError(`"${count}" is not a number of migrations to revert: give a positive integer`)
  }
  const { server, databaseUrl } = await prepareDatabase(config, direction === 'up')
  try {
    if (direction === 'down') {
      const reverted = await new Migrator(databaseUrl).down(steps)
      process.stdout.write(`reverted: ${reverted.join(', ') || 'nothing'}\n`)
    } else {
      process.stdout.write('database is up to date\n')
    }
  } finally {
    await server.stop()
  }
}

async function main(): Promise<void> {
  const [command = 'serve', ...args] = process.argv.slice(2)
  const config = loadConfig()
  if (command === 'serve') return serve(config)
  if (command === 'migrate') return migrate(config, args)
  if (command === 'purge') return purge(config)
  if (command === 'worker') return worker(config)
  throw new ConfigError(`Unknown command "${command}"; use serve, worker, migrate or purge`)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
