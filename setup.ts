// The process: config, database ready and migrated, buildApp, listen, graceful close.
// `tsx setup.ts` serves the API; `tsx setup.ts migrate [down [N]]` only migrates; `purge` only purges media.
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.ts'
import { ConfigError, loadConfig, type Config } from './config.ts'
import { createDatabase, databaseName, withDatabase } from './model/database.ts'
import { resolveDatabaseServer, type DatabaseServer } from './model/database-server.ts'
import { Migrator } from './model/migrator.ts'
import type { PurgeReport } from './service/media-service.ts'

const defaultDatabase = 'miniter'

/** Finds (or starts) the server, creates the database if missing and applies pending migrations. */
export async function prepareDatabase(config: Config): Promise<{ server: DatabaseServer; databaseUrl: string }> {
  const server = await resolveDatabaseServer(config.databaseUrl)
  const name = (config.databaseUrl && databaseName(config.databaseUrl)) || defaultDatabase
  const databaseUrl = withDatabase(server.url, name)
  try {
    await createDatabase(server.url, name)
    await new Migrator(databaseUrl).up()
  } catch (error) {
    await server.stop()
    throw error
  }
  return { server, databaseUrl }
}

async function serve(config: Config): Promise<void> {
  const { server, databaseUrl } = await prepareDatabase(config)
  const app = await buildApp({ ...config, databaseUrl })
  app.log.info({ database: server.source }, `database ready (${server.source})`)
  if (!process.env.JWT_SECRET) app.log.warn('JWT_SECRET is not set: using a random secret, tokens end with this process')
  closeWithGrace({ delay: config.shutdownGraceMs, logger: app.log }, async ({ err, signal }) => {
    if (err) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down: no new connections, finishing requests in flight')
    await app.close()
    await server.stop()
  })
  await app.listen({ port: config.port, host: config.host })
  // After listen, so a slow object store delays the clean-up, never the service.
  await purgeMedia(app).catch((err: unknown) => app.log.error({ err }, 'media purge failed'))
}

async function purgeMedia(app: FastifyInstance): Promise<PurgeReport> {
  const report = await app.purgeMedia()
  for (const { id, error } of report.failed) app.log.warn({ err: error, media_id: id }, 'media purge: object not removed')
  app.log.info({ pending: report.pending, expired: report.expired, failed: report.failed.length }, 'media purged')
  return report
}

async function purge(config: Config): Promise<void> {
  const { server, databaseUrl } = await prepareDatabase(config)
  try {
    const app = await buildApp({ ...config, databaseUrl })
    try {
      const report = await purgeMedia(app)
      process.stdout.write(
        `purged ${report.pending} abandoned uploads and ${report.expired} expired media; ${report.failed.length} failed\n`
      )
      if (report.failed.length > 0) process.exitCode = 1
    } finally {
      await app.close()
    }
  } finally {
    await server.stop()
  }
}

async function migrate(config: Config, args: string[]): Promise<void> {
  const { server, databaseUrl } = await prepareDatabase({ ...config })
  try {
    if (args[0] === 'down') {
      const reverted = await new Migrator(databaseUrl).down(Number(args[1] ?? 1))
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
  throw new ConfigError(`Unknown command "${command}"; use serve, migrate or purge`)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
