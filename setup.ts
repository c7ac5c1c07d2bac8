// The process: config, database ready and migrated, then one of: `serve` (default: buildApp, listen,
// fan-out workers), `worker` (fan-out workers only), `migrate [up | down [N] | --dry-run]`, `purge` (media) — graceful close.
import closeWithGrace from 'close-with-grace'
import { pino } from 'pino'
import { buildApp, buildServices } from './app.ts'
import { ConfigError, loadConfig, type Config } from './config.ts'
import { formatCount, type Progress } from './model/batches.ts'
import { createDatabase, databaseExists, databaseName, withDatabase } from './model/database.ts'
import type { DatabaseServer } from './model/database-server.ts'
import { migrationLabel, migrationsDir, Migrator, readMigrations, type MigrationPlan } from './model/migrator.ts'

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
    /** The database held the book's tables, now Miniter's (model/book-adoption.ts). */
    adopted: boolean
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

function migrator(config: Config, databaseUrl: string, progress?: Progress): Migrator {
  return new Migrator(databaseUrl, migrationsDir, { fanoutMaxFollowers: config.fanoutMaxFollowers, progress })
}

/**
 * Finds (or starts) the server, creates the database if missing and applies pending migrations (unless
 * `migrateUp` is false: `migrate down` reverts what is applied, not what it would first have re-applied),
 * adopting a database the book's SQL made. `progress` hears the long steps of that.
 */
export async function prepareDatabase(
  config: Config,
  migrateUp = true,
  progress?: Progress
): Promise<PreparedDatabase> {
  const server = await databaseServer(config)
  const name = (config.databaseUrl && databaseName(config.databaseUrl)) || defaultDatabase
  const databaseUrl = withDatabase(server.url, name)
  try {
    const created = await createDatabase(server.url, name)
    const migrations = migrator(config, databaseUrl, progress)
    const applied = migrateUp ? await migrations.up() : []
    const { hostname, port } = new URL(server.url)
    const database = {
      host: hostname,
      port: Number(port || 3306),
      name,
      source: server.source,
      created,
      adopted: migrations.adopted,
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
  adopted,
  migrations_applied: applied
}: PreparedDatabase['database']): string {
  const migrations = applied === 0 ? 'no migration pending' : `${applied} migration${applied === 1 ? '' : 's'} applied`
  const state = created ? 'created' : adopted ? "the book's database, adopted" : 'already there'
  return `database "${name}" on ${host}:${port} (${source}): ${state}, ${migrations}`
}

async function serve(config: Config): Promise<void> {
  // Created first, so that adopting the book's database logs its progress where the server logs.
  const log = pino({ level: config.logLevel })
  const { server, databaseUrl, database } = await prepareDatabase(config, true, (line) => log.info(line.trim()))
  const appConfig = { ...config, databaseUrl }
  const app = await buildApp(appConfig, await buildServices(appConfig, log))
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
  const { server, databaseUrl } = await prepareDatabase(config, true, printLine)
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
  const log = pino({ level: config.logLevel })
  const { server, databaseUrl, database } = await prepareDatabase(config, true, (line) => log.info(line.trim()))
  // FANOUT_WORKERS=0 means "none in the API processes"; a worker process always runs at least one loop.
  const workers = Math.max(1, config.fanout.workers)
  const services = await buildServices({ ...config, databaseUrl, fanout: { ...config.fanout, workers } }, log)
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

const printLine: Progress = (line) => process.stdout.write(`${line}\n`)

async function migrate(config: Config, args: string[]): Promise<void> {
  const dryRun = args.includes('--dry-run')
  const [direction = 'up', count = '1'] = args.filter((arg) => arg !== '--dry-run')
  if (direction !== 'up' && direction !== 'down') {
    throw new ConfigError(`Unknown migrate command "${direction}"; use migrate, migrate up or migrate down [N]`)
  }
  if (dryRun && direction !== 'up') {
    throw new ConfigError('--dry-run shows what migrate (up) would do; migrate down reverts at once')
  }
  const steps = Number(count)
  if (direction === 'down' && !(Number.isSafeInteger(steps) && steps > 0)) {
    throw new ConfigError(`"${count}" is not a number of migrations to revert: give a positive integer`)
  }
  if (dryRun) return migrateDryRun(config)
  const { server, databaseUrl } = await prepareDatabase(config, direction === 'up', printLine)
  try {
    if (direction === 'down') {
      const reverted = await migrator(config, databaseUrl).down(steps)
      process.stdout.write(`reverted: ${reverted.join(', ') || 'nothing'}\n`)
    } else {
      process.stdout.write('database is up to date\n')
    }
  } finally {
    await server.stop()
  }
}

/** `migrate --dry-run`: what `migrate` would do to the database, which is neither created nor changed. */
async function migrateDryRun(config: Config): Promise<void> {
  const server = await databaseServer(config)
  try {
    const name = (config.databaseUrl && databaseName(config.databaseUrl)) || defaultDatabase
    const { hostname, port } = new URL(server.url)
    const where = `database "${name}" on ${hostname}:${port || 3306}`
    if (await databaseExists(server.url, name)) {
      const plan = await migrator(config, withDatabase(server.url, name)).plan()
      for (const line of describePlan(where, plan)) printLine(line)
      if (plan.refusal) process.exitCode = 1
    } else {
      printLine(`${where}: missing, would be created`)
      printLine(pendingLine(await readMigrations()))
    }
    printLine('dry run: nothing was changed')
  } finally {
    await server.stop()
  }
}

function pendingLine(pending: MigrationPlan['pending'], baseline = false): string {
  if (pending.length === 0) return 'no migration pending'
  const names = pending.map((m, i) => (baseline && i === 0 ? `${migrationLabel(m)} (the baseline)` : migrationLabel(m)))
  return `would apply ${pending.length} migration${pending.length === 1 ? '' : 's'}: ${names.join(', ')}`
}

function describePlan(where: string, plan: MigrationPlan): string[] {
  if (plan.refusal) return [`${where}: would be refused. ${plan.refusal}`]
  const { survey, adoption } = plan
  if (survey.kind === 'book' && adoption) {
    const { users, users_follow_list: follows, tweets } = adoption.counts
    return [
      `${where}: the book's database (${formatCount(users)} users, ${formatCount(follows)} follows, ` +
        `${formatCount(tweets)} tweets), would be adopted:`,
      ...adoption.steps.map((step, i) => `  ${i + 1}. ${step}`),
      pendingLine(plan.pending, true)
    ]
  }
  return [`${where}: ${survey.kind === 'empty' ? 'empty' : "Miniter's"}`, pendingLine(plan.pending)]
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
