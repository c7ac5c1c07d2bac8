// Two Miniter instances behind nginx on loopback, sharing one database, one S3-compatible store and Redis.
// Shows that a rate limit holds for both instances together, that a stream on one instance gets a tweet
// posted through the other within a second, then runs mixed load through nginx, kills one instance
// mid-run (SIGKILL) and reports what failed, and whether the streams it held, resumed on the other with
// Last-Event-ID, missed anything.
// Usage: npm run scale-out [-- --seconds 20 --concurrency 32]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createDatabase, dropDatabase, withDatabase } from '../model/database.ts'
import { resolveDatabaseServer } from '../model/database-server.ts'
import { Migrator } from '../model/migrator.ts'
import { startS3Server } from './support/s3-server.ts'
import { SseClient } from './support/sse-client.ts'
import { freePort, postJson, startServer, type ServerProcess } from './support/processes.ts'

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '20' }, concurrency: { type: 'string', default: '32' } }
})
const seconds = Number(values.seconds)
const concurrency = Number(values.concurrency)

const cleanups: (() => unknown)[] = []
const teardown = { teardown: (fn: () => unknown) => void cleanups.unshift(fn) }
async function cleanUp() {
  for (const fn of cleanups.splice(0)) await Promise.resolve(fn()).catch(() => {})
}
process.on('SIGINT', () => void cleanUp().then(() => process.exit(130)))

function findNginx(): string {
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) {
    if (existsSync(candidate)) return candidate
  }
  if (process.getuid?.() === 0) {
    process.stdout.write('nginx is not installed: installing the Debian package (apt-get install nginx)\n')
    execFileSync('apt-get', ['install', '-y', '-q', 'nginx'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    })
    return '/usr/sbin/nginx'
  }
  throw new Error('nginx is not installed; install it (Debian/Ubuntu: sudo apt-get install nginx) and run again')
}

function nginxConfig(dir: string, port: number, upstreams: string[]): string {
  // Open-source nginx checks upstreams passively: a failed connection or a 502/503 marks the
  // instance down for fail_timeout, and idempotent requests are retried on the other one.
  return `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream miniter {
${upstreams.map((u) => `    server ${u} max_fails=1 fail_timeout=10s;`).join('\n')}
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 25m;
    location / {
      proxy_pass http://miniter;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_connect_timeout 1s;
    }
  }
}
`
}

/** Redis for the instances: REDIS_URL, the local one, else Debian's redis-server started on a free port. */
async function redisUrl(): Promise<string> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  const answers = (candidate: string) => {
    try {
      execFileSync('redis-cli', ['-u', candidate, 'ping'], { stdio: 'ignore' })
      return true
    } catch {
      return false
    }
  }
  if (answers(url)) return url
  if (!existsSync('/usr/bin/redis-server')) {
    process.stdout.write('redis-server is missing: installing Debian’s package (needs root)\n')
    execFileSync('apt-get', ['install', '-y', '-q', 'redis-server'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    })
  }
  const port = await freePort()
  const child = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', ''], {
    stdio: 'ignore'
  })
  teardown.teardown(() => child.kill('SIGTERM'))
  const started = `redis://127.0.0.1:${port}`
  for (let i = 0; i < 50 && !answers(started); i++) await new Promise((r) => setTimeout(r, 100))
  return started
}

/** The request after RATE_LIMIT_MAX, counted across two instances that share Redis, is refused. */
async function sharedLimit(env: Record<string, string>): Promise<{ ok: boolean; line: string }> {
  const max = 10
  const pair = [
    await startServer({ env: { ...env, RATE_LIMIT_MAX: String(max) } }),
    await startServer({ env: { ...env, RATE_LIMIT_MAX: String(max) } })
  ]
  try {
    const statuses: number[] = []
    for (let i = 0; i <= max; i++) statuses.push((await fetch(`${pair[i % 2].url}/users/1`)).status)
    const ok = statuses.slice(0, max).every((status) => status !== 429) && statuses[max] === 429
    return {
      ok,
      line: `shared rate limit (RATE_LIMIT_MAX=${max}, alternating instances): ${statuses.join(' ')}; request ${max + 1} ${statuses[max] === 429 ? 'refused' : 'NOT refused'}`
    }
  } finally {
    for (const instance of pair) instance.child.kill('SIGKILL')
  }
}

interface Outcome {
  at: number
  ok: boolean
  status: number
  method: string
}

async function main() {
  const nginx = findNginx()
  const dir = await mkdtemp(join(tmpdir(), 'miniter-scale-out-'))
  teardown.teardown(() => rm(dir, { recursive: true, force: true }))

  const server = await resolveDatabaseServer(process.env.DATABASE_URL)
  teardown.teardown(() => server.stop())
  const name = `miniter_scale_out_${process.pid}`
  await createDatabase(server.url, name)
  teardown.teardown(() => dropDatabase(server.url, name))
  const databaseUrl = withDatabase(server.url, name)
  await new Migrator(databaseUrl).up()

  const s3 = await startS3Server(teardown, 'miniter-scale-out')
  const redis = { REDIS_URL: await redisUrl(), REDIS_KEY_PREFIX: `miniter-scale-out-${process.pid}:` }
  // Every load-test client comes from one address, so the per-IP limits are off for this run.
  // nginx reaches the instances over loopback.
  const env = {
    DATABASE_URL: databaseUrl,
    TRUST_PROXY: '127.0.0.1',
    RATE_LIMIT_MAX: '0',
    LOGIN_RATE_LIMIT_PER_IP: '0',
    LOGIN_RATE_LIMIT_PER_EMAIL: '0',
    SIGNUP_RATE_LIMIT_PER_IP: '0',
    // The fan-out rows the killed instance held are taken over after this, instead of 15 s.
    FANOUT_LEASE_MS: '2000',
    ...s3.env,
    ...redis
  }
  const limit = await sharedLimit({ ...env, REDIS_KEY_PREFIX: `${redis.REDIS_KEY_PREFIX}limit:` })
  const instances: ServerProcess[] = []
  for (let i = 0; i < 2; i++) {
    const instance = await startServer({ env })
    instances.push(instance)
    teardown.teardown(() => instance.child.kill('SIGKILL'))
  }

  const port = await freePort()
  await writeFile(
    join(dir, 'nginx.conf'),
    nginxConfig(
      dir,
      port,
      instances.map((i) => new URL(i.url).host)
    )
  )
  const proxy: ChildProcess = spawn(nginx, ['-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'inherit' })
  teardown.teardown(() => proxy.kill('SIGTERM'))
  const base = `http://127.0.0.1:${port}`
  for (
    let i = 0;
    i < 50 &&
    !(await fetch(`${base}/health/ready`).then(
      (r) => r.ok,
      () => false
    ));
    i++
  ) {
    await new Promise((r) => setTimeout(r, 100))
  }

  const users: { id: number; token: string }[] = []
  for (let i = 0; i < 20; i++) {
    const email = `scale${i}@example.com`
    await postJson(`${base}/sign-up`, { name: `user ${i}`, email, password: 'password123', profile: '' })
    const login = (await (await postJson(`${base}/login`, { email, password: 'password123' })).json()) as {
      user_id: number
      access_token: string
    }
    users.push({ id: login.user_id, token: login.access_token })
  }
  for (const user of users) await postJson(`${base}/follow`, { follow: users[0].id }, user.token).catch(() => {})

  // A stream on instance 2 and a tweet posted through instance 1: how long until it arrives.
  const watcher = await SseClient.open(`${instances[1].url}/stream`, { authorization: users[1].token })
  const postedAt = Date.now()
  const probe = (await (
    await postJson(`${instances[0].url}/tweet`, { tweet: 'across instances' }, users[0].token)
  ).json()) as {
    id: number
  }
  const arrived = await watcher.until(
    (s) => s.data<{ id: number }>('tweet').some((item) => item.id === probe.id),
    5_000
  )
  const crossMs = Date.now() - postedAt
  watcher.close()

  // Streams held by instance 1, which is killed: each resumes on instance 2 from its last event id.
  const watched = users.slice(2, 7)
  const streams = await Promise.all(
    watched.map(async (user) => {
      const first = await SseClient.open(`${instances[0].url}/stream`, { authorization: user.token })
      return { user, clients: [first] }
    })
  )
  const resumeAll = () =>
    Promise.all(
      streams.map(async (stream) => {
        const [first] = stream.clients
        await first.ended
        const last = first.events.filter((e) => e.id !== undefined).at(-1)?.id
        stream.clients.push(
          await SseClient.open(`${instances[1].url}/stream`, {
            authorization: stream.user.token,
            ...(last ? { 'last-event-id': last } : {})
          })
        )
      })
    )
  const resumed = resumeAll()

  const outcomes: Outcome[] = []
  const start = Date.now()
  const deadline = start + seconds * 1000
  let inFlight = 0
  let inFlightAtKill = 0
  const worker = async (n: number) => {
    for (let i = 0; Date.now() < deadline; i++) {
      const user = users[(n + i) % users.length]
      const write = i % 4 === 0
      inFlight++
      try {
        const res = write
          ? await postJson(`${base}/tweet`, { tweet: `load ${n}/${i}` }, user.token)
          : await fetch(`${base}/timeline/${user.id}?limit=20`)
        await res.arrayBuffer()
        outcomes.push({ at: Date.now() - start, ok: res.ok, status: res.status, method: write ? 'POST' : 'GET' })
      } catch {
        outcomes.push({ at: Date.now() - start, ok: false, status: 0, method: write ? 'POST' : 'GET' })
      } finally {
        inFlight--
      }
    }
  }
  const killAt = (seconds * 1000) / 2
  const killer = (async () => {
    await new Promise((r) => setTimeout(r, killAt))
    inFlightAtKill = inFlight
    instances[0].child.kill('SIGKILL')
  })()
  await Promise.all([killer, ...Array.from({ length: concurrency }, (_, n) => worker(n))])
  await resumed
  // The killed instance's fan-out is finished by the other once its leases end.
  for (let i = 0; i < 150; i++) {
    const ready = (await (await fetch(`${instances[1].url}/health/ready`)).json()) as { fanout: { pending: number } }
    if (ready.fanout.pending === 0) break
    await new Promise((r) => setTimeout(r, 200))
  }

  // Every tweet of users[0] after the streams opened must have reached each watcher, through either connection.
  const timeline = (await (await fetch(`${instances[1].url}/timeline/${users[0].id}?limit=100`)).json()) as {
    timeline: { id: number }[]
  }
  const wanted = timeline.timeline.map((item) => item.id).filter((id) => id > probe.id)
  const newest = Math.max(...wanted)
  for (const stream of streams) {
    await stream.clients[1].until((s) => s.data<{ id: number }>('tweet').some((item) => item.id >= newest), 5_000)
  }
  const missed = streams.map((stream) => {
    const got = new Set(stream.clients.flatMap((client) => client.data<{ id: number }>('tweet').map((item) => item.id)))
    return wanted.filter((id) => !got.has(id)).length
  })
  for (const stream of streams) for (const client of stream.clients) client.close()

  const failed = outcomes.filter((o) => !o.ok)
  const before = outcomes.filter((o) => o.at < killAt)
  const after = outcomes.filter((o) => o.at >= killAt + 2000)
  const report = [
    `requests through nginx: ${outcomes.length} in ${seconds}s with ${concurrency} clients`,
    `instance 1 killed with SIGKILL at ${killAt / 1000}s with ${inFlightAtKill} requests in flight (across both instances)`,
    `failed: ${failed.length} (${failed.map((o) => `${o.method} ${o.status || 'network'} at ${(o.at / 1000).toFixed(2)}s`).join(', ') || 'none'})`,
    `before the kill: ${before.filter((o) => o.ok).length}/${before.length} ok; from 2s after it: ${after.filter((o) => o.ok).length}/${after.length} ok`,
    `instance 2 still ready: ${(await fetch(`${instances[1].url}/health/ready`)).status === 200}`,
    limit.line,
    `stream on instance 2, tweet posted through instance 1: ${arrived ? `arrived in ${crossMs} ms` : 'NOT arrived within 5 s'}`,
    `${streams.length} streams on the killed instance, resumed on instance 2 with Last-Event-ID: ` +
      `${wanted.length} tweets each to receive during the run, missed ${missed.join(', ')}`
  ]
  process.stdout.write(`${report.join('\n')}\n`)
  const requestsOk = failed.length <= inFlightAtKill && after.every((o) => o.ok) && before.every((o) => o.ok)
  const streamsOk = arrived && crossMs < 1_000 && missed.every((n) => n === 0)
  const ok = requestsOk && limit.ok && streamsOk
  process.stdout.write(
    ok
      ? 'PASS: only requests in flight on the killed instance failed; the limit is shared; streams crossed instances and resumed missing nothing\n'
      : `FAIL:${requestsOk ? '' : ' requests failed beyond those in flight;'}${limit.ok ? '' : ' the limit is not shared;'}${streamsOk ? '' : ' streams missed events or were late;'}\n`
  )
  await cleanUp()
  process.exit(ok ? 0 : 1)
}

main().catch(async (error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  await cleanUp()
  process.exit(1)
})
