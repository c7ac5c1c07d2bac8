// `npm run bench`: measures the app against bare node:http references, one server at a time, prints a
// table and writes BENCHMARKS.md. The databases come from `npm run bench:seed`.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, release, tmpdir, totalmem, type as osType } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { RowDataPacket } from 'mysql2/promise'
import { createPool } from '../model/database.ts'
import { bcryptComparesPerSecond, bcryptCost, threadpoolSize } from './bcrypt-rate.ts'
import {
  benchDatabaseServer,
  benchPassword,
  defaultShape,
  defaultSizes,
  emailOf,
  heavyUserId,
  MissingDatabase,
  openSeeded,
  parseSize,
  parseSizes,
  sizeLabel,
  type SeededDatabase
} from './dataset.ts'
import { fanoutLag, measureDrain, timelinesEqualGraph, type Drain, type LagSample } from './fanout-lag.ts'
import { measure, sampleLatency, type LoadSettings, type LoadSpec, type Measurement } from './load.ts'
import { killChildrenOnSignals, startServer, type ServerProcess } from '../scripts/support/processes.ts'
import { markdown, textTable, type Check, type ResultRow } from './report.ts'
import { seededSearchWords } from './seed-steps.ts'
import { mintToken } from './tokens.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const referenceServer = join(root, 'bench', 'reference-server.ts')
/** Signs this run's tokens; the app and reference (a) verify them. */
const jwtSecret = randomBytes(32).toString('hex')
const scenarios = ['ping', 'timeline', 'signed-in', 'heavy', 'celebrity', 'search', 'tweet', 'login', 'scale'] as const
type Scenario = (typeof scenarios)[number]

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '50' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    database: { type: 'string', default: '1m' },
    sizes: { type: 'string', default: defaultSizes.join(',') },
    only: { type: 'string', default: scenarios.join(',') },
    'login-connections': { type: 'string', default: String(2 * threadpoolSize()) },
    'write-connections': { type: 'string', default: '32' },
    'sample-rate': { type: 'string', default: '20' },
    output: { type: 'string', default: 'BENCHMARKS.md' },
    note: { type: 'string' },
    help: { type: 'boolean', default: false }
  }
})

const usage = `Usage: npm run bench -- [options]
  --connections N   concurrent connections per run (default 50)
  --duration S      measured seconds per run (default 10)
  --warmup S        unmeasured seconds before each run (default 3)
  --database SIZE   the seeded database most runs use (default 1m)
  --sizes LIST      databases for the timeline-at-scale runs (default ${defaultSizes.join(',')})
  --only LIST       a subset of ${scenarios.join(',')}
  --write-connections N   connections for POST /tweet by random users (default 32); celebrities post
                    on one connection each
  --login-connections N   connections for POST /login (default 2 × libuv threadpool = ${2 * threadpoolSize()}:
                    bcrypt bounds it, more connections only queue)
  --sample-rate N   /ping requests per second sampled while /login is loaded (default 20)
  --output FILE     where the report goes (default BENCHMARKS.md; "-" for none)
  --note TEXT       a paragraph put at the top of the report
Databases: run \`npm run bench:seed\` first (same BENCH_DATABASE_URL / DATABASE_URL resolution).`

function positive(name: string, text: string): number {
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`)
  return value
}

const settings: LoadSettings = {
  connections: Math.round(positive('connections', args.connections)),
  duration: positive('duration', args.duration),
  warmup: Number(args.warmup)
}
const sampleRate = positive('sample-rate', args['sample-rate'])
const loginConnections = Math.round(positive('login-connections', args['login-connections']))
const writeConnections = Math.round(positive('write-connections', args['write-connections']))
const wanted = new Set(args.only.split(',').map((name) => name.trim()))
for (const name of wanted) {
  if (!scenarios.includes(name as Scenario)) throw new Error(`Unknown scenario "${name}"; use ${scenarios.join(',')}`)
}
const want = (name: Scenario) => wanted.has(name)

const rows: ResultRow[] = []
const checks: Check[] = []
const notes: string[] = []

function record(scenario: string, server: string, measurement: Measurement): Measurement {
  const row = { scenario, server, measurement }
  rows.push(row)
  const m = measurement
  process.stdout.write(
    `  ${scenario} on ${server}: ${Math.round(m.requestsPerSecond)} req/s, p50 ${m.p50.toFixed(2)} ms, ` +
      `p99 ${m.p99.toFixed(2)} ms, ${m.errors} errors, ${m.non2xx} non-2xx\n`
  )
  return measurement
}

const clean = (m: Measurement) => m.errors === 0 && m.non2xx === 0

/** ours / reference throughput against a minimum ratio; a run with failed requests never meets it. */
function ratioCheck(name: string, ours: Measurement | undefined, reference: Measurement | undefined, minimum: number) {
  if (!ours || !reference) return
  const ratio = ours.requestsPerSecond / reference.requestsPerSecond
  const failed = !clean(ours) ? ' (ours had failed requests)' : ''
  checks.push({ name, value: `${ratio.toFixed(2)}${failed}`, target: `≥ ${minimum}`, met: ratio >= minimum && !failed })
}

function tailCheck(name: string, m: Measurement | undefined) {
  if (!m) return
  const ratio = m.p99 / m.p50
  checks.push({ name, value: `${ratio.toFixed(2)} × p50`, target: 'p99 ≤ 3 × p50', met: ratio <= 3 && clean(m) })
}

function p99Check(name: string, m: Measurement | undefined, maxMs: number) {
  if (!m) return
  checks.push({
    name,
    value: `${m.p99.toFixed(1)} ms, ${m.non2xx + m.errors} failed`,
    target: `≤ ${maxMs} ms, none failed`,
    met: m.p99 <= maxMs && clean(m)
  })
}

const lagText = (lag: LagSample) =>
  `p50 ${Math.round(lag.p50)} ms, p99 ${Math.round(lag.p99)} ms (${lag.lags.filter((l) => !Number.isNaN(l)).length}/${lag.lags.length} seen)`

const drainText = (drain: Drain) =>
  `${drain.tweets.toLocaleString('en')} tweets, ${drain.rows.toLocaleString('en')} rows pending at the end of the load; ` +
  `${Math.round(drain.rowsPerSecond).toLocaleString('en')} rows/s over ${drain.seconds.toFixed(1)} s${drain.drained ? ', drained' : ', not drained (stopped watching)'}`

function appServer(db: SeededDatabase, uploadDir: string): Promise<ServerProcess> {
  return startServer({
    name: `miniter (${db.name})`,
    env: {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      JWT_SECRET: jwtSecret,
      DATABASE_URL: db.url,
      UPLOAD_DIR: uploadDir,
      // All load comes from one address: per-IP limits would only measure themselves (429s).
      RATE_LIMIT_MAX: '0',
      LOGIN_RATE_LIMIT_PER_IP: '0',
      LOGIN_RATE_LIMIT_PER_EMAIL: '0'
    }
  })
}

function reference(mode: 'ping' | 'timeline-sql' | 'pk-range' | 'insert', db?: SeededDatabase): Promise<ServerProcess> {
  return startServer({
    name: `reference ${mode}`,
    args: ['--import', 'tsx', referenceServer, mode],
    env: db ? { DATABASE_URL: db.url, JWT_SECRET: jwtSecret } : {}
  })
}

async function withServer<T>(start: Promise<ServerProcess>, work: (server: ServerProcess) => Promise<T>): Promise<T> {
  const server = await start
  try {
    return await work(server)
  } finally {
    await server.stop()
  }
}

interface Probe {
  path: string
  /** Sent as the caller's bearer token. */
  token?: string
}

async function body(origin: string, { path, token }: Probe): Promise<string> {
  const res = await fetch(`${origin}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {})
  return `${res.status} ${await res.text()}`
}

async function databaseFacts(db: SeededDatabase) {
  const pool = createPool(db.url, { connectionLimit: 1 })
  try {
    const [[facts]] = await pool.query<RowDataPacket[]>(
      `SELECT VERSION() AS version, @@innodb_buffer_pool_size AS bufferPool,
              (SELECT hashed_password FROM users ORDER BY id LIMIT 1) AS hash,
              (SELECT COUNT(*) FROM users_follow_list WHERE user_id = ?) AS heavyFollows`,
      [heavyUserId(defaultShape)]
    )
    return {
      version: String(facts.version),
      bufferPool: Number(facts.bufferPool),
      hash: String(facts.hash),
      heavyFollows: Number(facts.heavyFollows)
    }
  } finally {
    await pool.end()
  }
}

function plannedRuns(): number {
  const perScenario: Record<Scenario, number> = {
    ping: 2,
    timeline: 3,
    'signed-in': 2,
    heavy: 2,
    celebrity: 2,
    search: 3,
    tweet: 3,
    login: 1,
    scale: 0
  }
  let total = [...wanted].reduce((sum, name) => sum + perScenario[name as Scenario], 0)
  if (want('scale')) total += parseSizes(args.sizes).length - (want('timeline') ? 1 : 0)
  return total
}

async function main(): Promise<void> {
  if (args.help) {
    process.stdout.write(`${usage}\n`)
    return
  }
  killChildrenOnSignals()
  const started = new Date()
  const loadAtStart = loadavg()
  const primarySize = parseSize(args.database)
  const scaleSizes = want('scale') ? parseSizes(args.sizes).sort((a, b) => a - b) : []
  const server = await benchDatabaseServer()
  const uploadDir = await mkdtemp(join(tmpdir(), 'miniter-bench-uploads-'))
  let primary: SeededDatabase | undefined
  try {
    primary = await openSeeded(server.url, primarySize)
    const scaleDbs: SeededDatabase[] = []
    for (const size of scaleSizes) scaleDbs.push(await openSeeded(server.url, size))
    const facts = await databaseFacts(primary)
    const db = primary
    const users = db.users
    const heavy = heavyUserId(defaultShape)
    const celebrities = defaultShape.celebrities
    const randomUser = () => 1 + Math.floor(Math.random() * users)
    const randomCelebrity = () => 1 + Math.floor(Math.random() * celebrities)

    const runs = plannedRuns()
    const estimate = Math.ceil((runs * (settings.warmup + settings.duration + 5)) / 60)
    process.stdout.write(
      `Benchmarking ${db.name} (${users.toLocaleString('en')} users) on the ${server.source}: ${runs} runs of ` +
        `${settings.warmup}+${settings.duration} s at ${settings.connections} connections, about ${estimate} min\n`
    )

    const timelineSpec: LoadSpec = {
      path: '/timeline/1?limit=20',
      next: () => ({ path: `/timeline/${randomUser()}?limit=20` })
    }
    const tokens = Array.from({ length: users }, (_, i) => mintToken(jwtSecret, i + 1))
    // The caller's own home timeline: its page also asks which tweets the caller liked and retweeted.
    const signedInSpec: LoadSpec = {
      path: '/timeline?limit=20',
      next: () => ({ headers: { authorization: `Bearer ${tokens[randomUser() - 1]}` } })
    }
    const heavySpec: LoadSpec = { path: `/timeline/${heavy}?limit=20` }
    const celebritySpec: LoadSpec = {
      path: '/timeline/1?limit=20',
      next: () => ({ path: `/timeline/${randomCelebrity()}?limit=20` })
    }
    // The same handful of timelines is fetched from the app and from reference (a) to prove they match.
    const probes: Probe[] = [
      { path: `/timeline/${heavy}?limit=20` },
      { path: '/timeline/1?limit=20' },
      { path: `/timeline/${Math.min(4242, users)}?limit=20` },
      { path: '/timeline?limit=20', token: tokens[Math.min(4242, users) - 1] },
      { path: '/timeline?limit=20', token: tokens[heavy - 1] }
    ]
    const probeName = (probe: Probe) => (probe.token ? `${probe.path} signed in` : probe.path)
    let appBodies: string[] = []

    const results: Partial<Record<string, Measurement>> = {}

    if (want('ping')) {
      await withServer(reference('ping'), async (bare) => {
        results.pingBare = record(
          'GET /ping',
          'bare node:http',
          (await measure(bare, { path: '/ping' }, settings)).measurement
        )
      })
    }

    if (want('ping') || want('timeline') || want('signed-in') || want('heavy') || want('celebrity')) {
      await withServer(appServer(db, uploadDir), async (app) => {
        if (want('ping')) {
          results.ping = record('GET /ping', 'miniter', (await measure(app, { path: '/ping' }, settings)).measurement)
        }
        appBodies = await Promise.all(probes.map((probe) => body(app.url, probe)))
        if (want('timeline')) {
          results.timeline = record(
            'GET /timeline random users',
            'miniter',
            (await measure(app, timelineSpec, settings)).measurement
          )
        }
        if (want('signed-in')) {
          results.signedIn = record(
            'GET /timeline signed in, random users',
            'miniter',
            (await measure(app, signedInSpec, settings)).measurement
          )
        }
        if (want('heavy')) {
          results.heavy = record(
            `GET /timeline heavy user`,
            'miniter',
            (await measure(app, heavySpec, settings)).measurement
          )
        }
        if (want('celebrity')) {
          results.celebrity = record(
            'GET /timeline celebrity',
            'miniter',
            (await measure(app, celebritySpec, settings)).measurement
          )
        }
      })
    }

    if (want('timeline') || want('signed-in') || want('heavy') || want('celebrity')) {
      await withServer(reference('timeline-sql', db), async (ref) => {
        const refBodies = await Promise.all(probes.map((probe) => body(ref.url, probe)))
        const differing = probes.filter((_, i) => refBodies[i] !== appBodies[i]).map(probeName)
        if (differing.length > 0) {
          notes.push(
            `Reference (a) answered differently from the app for ${differing.join(', ')}: adapt bench/timeline-call.ts.`
          )
          process.stdout.write(`  warning: reference (a) and the app disagree on ${differing.join(', ')}\n`)
        }
        const name = 'node:http + app SQL (a)'
        if (want('timeline'))
          results.timelineA = record(
            'GET /timeline random users',
            name,
            (await measure(ref, timelineSpec, settings)).measurement
          )
        if (want('signed-in'))
          results.signedInA = record(
            'GET /timeline signed in, random users',
            name,
            (await measure(ref, signedInSpec, settings)).measurement
          )
        if (want('heavy'))
          results.heavyA = record(
            'GET /timeline heavy user',
            name,
            (await measure(ref, heavySpec, settings)).measurement
          )
        if (want('celebrity'))
          results.celebrityA = record(
            'GET /timeline celebrity',
            name,
            (await measure(ref, celebritySpec, settings)).measurement
          )
      })
      await withServer(reference('pk-range', db), async (ref) => {
        results.timelineB = record(
          'GET /timeline random users',
          'node:http + PK range (b)',
          (await measure(ref, timelineSpec, settings)).measurement
        )
      })
    }

    let posted = 0
    const postAs = (userId: number) => ({
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[userId - 1]}` },
      body: JSON.stringify({ tweet: `Benchmark post ${(posted += 1)}` })
    })
    const tweetSpec: LoadSpec = { path: '/tweet', method: 'POST', next: () => postAs(randomUser()) }
    const celebrityTweets: LoadSpec = { path: '/tweet', method: 'POST', next: () => postAs(randomCelebrity()) }
    const writeSettings = { ...settings, connections: writeConnections }

    if (want('search')) {
      // Seeded texts hold their number and one of 20 words (bench/seed-steps.ts): a number finds one tweet,
      // a word a twentieth of all; a username prefix of 'bench_' and two digits, about 111 of the users.
      const searchPath = (route: string, q: string) => `/search/${route}?q=${encodeURIComponent(q)}&limit=20`
      const randomWord = () => seededSearchWords[Math.floor(Math.random() * seededSearchWords.length)]
      const oneTweet = () => String(100_000 + Math.floor(Math.random() * (db.tweets - 100_000)))
      await withServer(appServer(db, uploadDir), async (app) => {
        for (const [key, label, route, q] of [
          ['searchRare', 'GET /search/tweets, a number one tweet holds', 'tweets', oneTweet],
          ['searchCommon', 'GET /search/tweets, a word a twentieth of tweets hold', 'tweets', randomWord],
          [
            'searchUsers',
            "GET /search/users, 'bench_' and two digits",
            'users',
            () => `bench_${10 + Math.floor(Math.random() * 90)}`
          ]
        ] as const) {
          const spec: LoadSpec = { path: searchPath(route, q()), next: () => ({ path: searchPath(route, q()) }) }
          results[key] = record(label, 'miniter', (await measure(app, spec, settings)).measurement)
        }
      })
      for (const key of ['searchRare', 'searchCommon', 'searchUsers'] as const) {
        if (results[key] && results.timeline) {
          checks.push({
            name: `${key === 'searchUsers' ? 'GET /search/users' : 'GET /search/tweets'} (${key === 'searchRare' ? 'rare' : key === 'searchCommon' ? 'common word' : 'prefix'}) / GET /timeline random users`,
            value: (results[key].requestsPerSecond / results.timeline.requestsPerSecond).toFixed(2),
            target: 'info'
          })
        }
      }
    }

    if (want('tweet')) {
      await withServer(reference('insert', db), async (ref) => {
        results.tweetFloor = record(
          'POST /tweet random users',
          'node:http + one INSERT (floor)',
          (await measure(ref, tweetSpec, writeSettings)).measurement
        )
      })
      await openSeeded(server.url, db.tweets)
    }

    if (want('tweet') || want('login')) {
      await withServer(appServer(db, uploadDir), async (app) => {
        if (want('tweet')) {
          const pool = createPool(db.url, { connectionLimit: 2 })
          try {
            // A 50-follower author (an ordinary user) and a 10,000-follower one (a celebrity), each with
            // one follower whose timeline is watched.
            const ordinary = Math.min(5000, users)
            const firstFollower = async (author: number) => {
              const [rows] = await pool.query<RowDataPacket[]>(
                'SELECT user_id, (SELECT followers_count FROM users WHERE id = ?) AS followers FROM users_follow_list WHERE follow_user_id = ? ORDER BY user_id DESC LIMIT 1',
                [author, author]
              )
              return { fan: Number(rows[0].user_id), followers: Number(rows[0].followers) }
            }
            const small = await firstFollower(ordinary)
            const large = await firstFollower(1)
            const lagOf = (author: number, fan: number, count: number, spacingMs: number) =>
              fanoutLag(app.url, tokens[author - 1], fan, count, spacingMs)

            const idleSmall = await lagOf(ordinary, small.fan, 20, 100)
            const idleLarge = await lagOf(1, large.fan, 10, 500)
            const { measurement, companion } = await measure(app, tweetSpec, writeSettings, () =>
              Promise.all([
                lagOf(ordinary, small.fan, Math.ceil(settings.duration * 2), 400),
                lagOf(1, large.fan, Math.ceil(settings.duration), 800),
                // The drain is watched from the moment the load stops.
                new Promise((resolve) => setTimeout(resolve, settings.duration * 1000)).then(() =>
                  measureDrain(pool, 180)
                )
              ])
            )
            results.tweet = record('POST /tweet random users', 'miniter', measurement)
            const [loadedSmall, loadedLarge, drain] = companion!
            const sample = Array.from({ length: 20 }, () => randomUser())
            const differing = drain.drained ? await timelinesEqualGraph(pool, app.url, sample) : undefined

            results.tweetCelebrities = record(
              'POST /tweet celebrities',
              'miniter',
              (await measure(app, celebrityTweets, { ...settings, connections: celebrities })).measurement
            )
            const celebrityDrain = await measureDrain(pool, 15)
            // What is left would take long to copy and is thrown away with the run's tweets anyway.
            await pool.query('DELETE FROM fanout_outbox')

            ratioCheck(
              'POST /tweet random users: miniter / floor (one autocommit INSERT)',
              results.tweet,
              results.tweetFloor,
              0.5
            )
            p99Check('POST /tweet random users: p99', results.tweet, 50)
            p99Check(
              `POST /tweet celebrities (${large.followers.toLocaleString('en')} followers, ${celebrities} at once): p99`,
              results.tweetCelebrities,
              100
            )
            checks.push({
              name: `Fan-out lag at idle, ${large.followers.toLocaleString('en')}-follower author`,
              value: lagText(idleLarge),
              target: 'p99 ≤ 5000 ms',
              met: idleLarge.p99 <= 5000 && idleLarge.lags.every((lag) => !Number.isNaN(lag))
            })
            checks.push({
              name: `Fan-out lag at idle, ${small.followers}-follower author`,
              value: lagText(idleSmall),
              target: 'info'
            })
            checks.push({
              name: `Fan-out lag under the random-users write load, ${small.followers}-follower author`,
              value: lagText(loadedSmall),
              target: 'info'
            })
            checks.push({
              name: `Fan-out lag under the random-users write load, ${large.followers.toLocaleString('en')}-follower author`,
              value: lagText(loadedLarge),
              target: 'info'
            })
            checks.push({ name: 'Backlog drain after the random-users load', value: drainText(drain), target: 'info' })
            checks.push({
              name: 'Backlog drain after the celebrity load (watched 15 s)',
              value: drainText(celebrityDrain),
              target: 'info'
            })
            checks.push({
              name: `${sample.length} random users' first pages after the drain = the follow graph's answer`,
              value:
                differing === undefined
                  ? 'not drained'
                  : differing.length === 0
                    ? 'all equal'
                    : `differ: ${differing.join(', ')}`,
              target: 'all equal',
              met: differing !== undefined && differing.length === 0
            })
          } finally {
            await pool.end()
          }
          // Later runs and later benchmarks must see the seeded data, not this run's posts.
          await openSeeded(server.url, db.tweets)
        }
        if (want('login')) {
          const cost = bcryptCost(facts.hash)
          const bcryptRate = await bcryptComparesPerSecond(facts.hash, benchPassword, Math.min(5, settings.duration))
          const idle = record(
            'GET /ping sampled, idle',
            'miniter',
            await sampleLatency(app.url, '/ping', sampleRate, Math.min(5, settings.duration))
          )
          const loginSpec: LoadSpec = {
            path: '/login',
            method: 'POST',
            next: () => ({
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ email: emailOf(randomUser()), password: benchPassword })
            })
          }
          const loginSettings = { ...settings, connections: loginConnections }
          const { measurement: login, companion: pingDuring } = await measure(app, loginSpec, loginSettings, () =>
            sampleLatency(app.url, '/ping', sampleRate, settings.duration)
          )
          record(`POST /login random users, ${loginConnections} connections`, 'miniter', login)
          record(`GET /ping sampled during /login load`, 'miniter', pingDuring!)
          checks.push({
            name: `POST /login vs bcrypt compares/s (cost ${cost}, ${bcryptRate.parallelism} in parallel: ${Math.round(bcryptRate.perSecond)}/s)`,
            value: (login.requestsPerSecond / bcryptRate.perSecond).toFixed(2),
            target: 'close to 1: bcrypt is the limit'
          })
          checks.push({
            name: `GET /ping at ${sampleRate}/s while /login is loaded (idle p50 ${idle.p50.toFixed(2)} ms, p99 ${idle.p99.toFixed(2)} ms)`,
            value: `p50 ${pingDuring!.p50.toFixed(2)} ms, p99 ${pingDuring!.p99.toFixed(2)} ms`,
            target: 'stays near idle: bcrypt off the event loop'
          })
        }
      })
    }

    const scaleResults: { size: number; m: Measurement }[] = []
    for (const scaleDb of scaleDbs) {
      if (scaleDb.tweets === db.tweets && results.timeline) {
        scaleResults.push({ size: scaleDb.tweets, m: results.timeline })
        continue
      }
      await withServer(appServer(scaleDb, uploadDir), async (app) => {
        const m = record(
          `GET /timeline random users, ${sizeLabel(scaleDb.tweets)} tweets`,
          'miniter',
          (await measure(app, timelineSpec, settings)).measurement
        )
        scaleResults.push({ size: scaleDb.tweets, m })
      })
    }

    ratioCheck('GET /ping: miniter / bare node:http', results.ping, results.pingBare, 0.85)
    for (const [label, ours, a] of [
      ['random users', results.timeline, results.timelineA],
      ['signed in, random users', results.signedIn, results.signedInA],
      ['heavy user', results.heavy, results.heavyA],
      ['celebrity', results.celebrity, results.celebrityA]
    ] as const) {
      ratioCheck(`GET /timeline ${label}: miniter / (a) same SQL`, ours, a, 0.85)
      ratioCheck(`GET /timeline ${label}: miniter / (b) PK range`, ours, results.timelineB, 0.7)
      tailCheck(`GET /timeline ${label}: miniter p99`, ours)
    }
    if (scaleResults.length >= 2) {
      scaleResults.sort((a, b) => a.size - b.size)
      const smallest = scaleResults[0]
      const largest = scaleResults[scaleResults.length - 1]
      const growth = largest.m.p50 / smallest.m.p50
      checks.push({
        name: `GET /timeline p50 at ${sizeLabel(largest.size)} / at ${sizeLabel(smallest.size)} tweets`,
        value: `${growth.toFixed(2)} (${scaleResults.map((r) => `${sizeLabel(r.size)}: ${r.m.p50.toFixed(2)} ms`).join(', ')})`,
        target: '≤ 1.5',
        met: growth <= 1.5
      })
    }

    if (scaleResults.some((r) => r.m === results.timeline)) {
      notes.push(`The ${sizeLabel(db.tweets)} row of the scale series is the random-users timeline run above.`)
    }
    notes.push(
      'Reference (b) answers every timeline request with the 20 tweets below a random id, whoever the user is; ' +
        'the heavy-user and celebrity checks reuse its random-users figure.',
      `POST /tweet runs add tweets to ${db.name}; the runner deletes them afterwards so every run reads the seeded data.`,
      'Fan-out lag is measured from sending the POST until `GET /timeline/<follower>?before=<id + 1>&limit=1` answers the tweet. ' +
        'What limits POST /tweet against the insert floor, and the drain rate, is explained in docs/performance.md ("Results on this machine").'
    )

    const loadAtEnd = loadavg()
    const cpu = cpus()
    const report = {
      date: started,
      preamble: args.note,
      machine: [
        `${cpu.length} CPU cores (${cpu[0]?.model.trim() ?? 'unknown'}), ${(totalmem() / 1024 ** 3).toFixed(1)} GiB memory, ${osType()} ${release()}`,
        `Load average (1 min) ${loadAtStart[0].toFixed(2)} at the start, ${loadAtEnd[0].toFixed(2)} at the end: ` +
          'anything else running on the machine shows up in the figures',
        `Node ${process.version}`,
        `Database ${facts.version} on the ${server.source}, innodb_buffer_pool_size ${Math.round(facts.bufferPool / 1024 ** 2)} MiB`
      ],
      settings: [
        `autocannon: ${settings.connections} connections (POST /login: ${loginConnections}), ${settings.warmup} s warm-up (discarded) then ${settings.duration} s measured, one run at a time`,
        `Database ${db.name}: ${users.toLocaleString('en')} users, ${db.tweets.toLocaleString('en')} tweets, ~${defaultShape.followsPerUser} followees each incl. ${celebrities} celebrities (ids 1–${celebrities}); heavy user ${heavy} follows ${facts.heavyFollows.toLocaleString('en')}; in the newest 40,000 tweets every 50th is a retweet and each user likes about a tenth of their home timeline`,
        scaleDbs.length > 0 ? `Scale series: ${scaleDbs.map((s) => s.name).join(', ')}` : 'Scale series: not run',
        "Servers: miniter is `node --import tsx setup.ts` with NODE_ENV=production, LOG_LEVEL=warn; references are bare node:http in their own processes with the app's createPool() defaults",
        `Timeline requests: GET /timeline/:user_id?limit=20 with a random user per request (signed in: GET /timeline?limit=20 with a random user's token); /ping sampled at ${sampleRate} req/s over one connection`,
        `bcrypt cost ${bcryptCost(facts.hash)}, libuv threadpool ${threadpoolSize()}`
      ],
      rows,
      checks,
      notes
    }
    process.stdout.write(`\n${textTable(rows)}\n\n`)
    for (const check of checks) {
      const verdict = check.met === undefined ? 'info' : check.met ? 'met' : 'NOT MET'
      process.stdout.write(`  ${verdict.padEnd(7)} ${check.name}: ${check.value} (target ${check.target})\n`)
    }
    if (args.output !== '-') {
      const output = resolve(root, args.output)
      await writeFile(output, markdown(report))
      process.stdout.write(`\nWrote ${output}\n`)
    }
  } finally {
    if (primary) await openSeeded(server.url, primary.tweets).catch(() => {})
    await rm(uploadDir, { recursive: true, force: true })
    await server.stop()
  }
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error)
  process.stderr.write(error instanceof MissingDatabase ? `${message}\n` : `bench failed: ${message}\n`)
  process.exit(1)
})
