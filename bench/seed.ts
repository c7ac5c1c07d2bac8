// `npm run bench:seed [-- --sizes 100k,1m]`: (re)creates one benchmark database per size, migrated by
// the app's own Migrator and filled with set-based SQL. Prints how long each step and each size took.
import { parseArgs } from 'node:util'
import bcrypt from 'bcrypt'
import { loadConfig } from '../config.ts'
import { createDatabase, createPool, dropDatabase, withDatabase } from '../model/database.ts'
import { Migrator } from '../model/migrator.ts'
import {
  benchDatabaseName,
  benchDatabaseServer,
  benchPassword,
  defaultShape,
  defaultSizes,
  parseSizes,
  type DatasetShape
} from './dataset.ts'
import {
  checkShape,
  cteSequence,
  engineSequence,
  hasSequenceEngine,
  seedSteps,
  withoutSecondaryIndexes
} from './seed-steps.ts'

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: defaultSizes.join(',') },
    users: { type: 'string', default: String(defaultShape.users) },
    follows: { type: 'string', default: String(defaultShape.followsPerUser) },
    celebrities: { type: 'string', default: String(defaultShape.celebrities) },
    'heavy-follows': { type: 'string', default: String(defaultShape.heavyFollows) },
    // The app's own default cost, so POST /login costs what it costs in production.
    'bcrypt-rounds': { type: 'string', default: String(loadConfig({}).bcryptRounds) },
    sequence: { type: 'string', default: 'auto' },
    'keep-indexes': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false }
  }
})

const usage = `Usage: npm run bench:seed -- [options]
  --sizes 100k,1m,10m     tweet counts, one database each (miniter_bench_<size>); default ${defaultSizes.join(',')}
  --users N               default ${defaultShape.users}
  --follows N             followees per user, celebrities included; default ${defaultShape.followsPerUser}
  --celebrities N         accounts everyone follows; default ${defaultShape.celebrities}
  --heavy-follows N       followees of the heavy user; default ${defaultShape.heavyFollows}
  --bcrypt-rounds N       cost of the shared password hash; default: the app's BCRYPT_ROUNDS default
  --sequence auto|engine|cte   row source: MariaDB's sequence engine or a recursive CTE (MySQL 8)
  --keep-indexes          fill tables with their secondary indexes in place (slower; for comparison)
Server: BENCH_DATABASE_URL, else the one the app would use (DATABASE_URL, 127.0.0.1:3306, private instance).`

function integer(name: string, text: string): number {
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`)
  return value
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`.padStart(9)
}

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now()
  const result = await work()
  process.stdout.write(`  ${label.padEnd(52)}${seconds(performance.now() - start)}\n`)
  return result
}

async function seedOne(
  serverUrl: string,
  tweets: number,
  shape: DatasetShape,
  passwordHash: string,
  sequence: (n: number) => string,
  keepIndexes: boolean
): Promise<void> {
  const name = benchDatabaseName(tweets)
  const url = withDatabase(serverUrl, name)
  process.stdout.write(`${name}: ${tweets.toLocaleString('en')} tweets, ${shape.users.toLocaleString('en')} users\n`)
  const start = performance.now()
  await timed('drop, create and migrate', async () => {
    await dropDatabase(serverUrl, name)
    await createDatabase(serverUrl, name)
    await new Migrator(url).up()
  })
  const pool = createPool(url, { connectionLimit: 1 })
  const db = await pool.getConnection()
  try {
    await db.query('SET SESSION foreign_key_checks = 0, unique_checks = 0')
    const epoch = new Date(Math.floor(Date.now() / 1000) * 1000 - tweets * 1000)
    const bulkLoad = keepIndexes
      ? (_table: string, fill: () => Promise<void>) => fill()
      : (table: string, fill: () => Promise<void>) => withoutSecondaryIndexes(db, table, fill)
    for (const step of seedSteps) {
      await timed(step.name, () => step.run({ db, shape, tweets, passwordHash, epoch, sequence, bulkLoad }))
    }
  } finally {
    db.release()
    await pool.end()
  }
  process.stdout.write(`  ${'total'.padEnd(52)}${seconds(performance.now() - start)}\n`)
}

async function main(): Promise<void> {
  if (args.help) {
    process.stdout.write(`${usage}\n`)
    return
  }
  const sizes = parseSizes(args.sizes)
  const shape: DatasetShape = {
    users: integer('users', args.users),
    followsPerUser: integer('follows', args.follows),
    celebrities: integer('celebrities', args.celebrities),
    heavyFollows: integer('heavy-follows', args['heavy-follows'])
  }
  checkShape(shape)
  const rounds = integer('bcrypt-rounds', args['bcrypt-rounds'])
  if (!['auto', 'engine', 'cte'].includes(args.sequence)) throw new Error('--sequence must be auto, engine or cte')

  const server = await benchDatabaseServer()
  try {
    const engine = args.sequence === 'auto' ? await hasSequenceEngine(server.url) : args.sequence === 'engine'
    process.stdout.write(
      `Seeding on the ${server.source}, rows from ${engine ? "the sequence engine's seq_1_to_N tables" : 'a recursive CTE'}` +
        `${args['keep-indexes'] ? ', indexes kept in place' : ''}\n`
    )
    const passwordHash = await timed(`bcrypt hash of the shared password (cost ${rounds})`, () =>
      bcrypt.hash(benchPassword, rounds)
    )
    const started = performance.now()
    for (const tweets of sizes) {
      await seedOne(
        server.url,
        tweets,
        shape,
        passwordHash,
        engine ? engineSequence : cteSequence,
        args['keep-indexes']
      )
    }
    process.stdout.write(`All ${sizes.length} database(s) seeded in ${seconds(performance.now() - started).trim()}\n`)
  } finally {
    await server.stop()
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:seed failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
