// Soak: mixed realistic traffic (timelines, tweets, follows, logins, uploads) at high concurrency for
// a set time against a real server process; reports status counts, p50/p99 and the server's memory.
// Usage: npm run soak [-- --seconds 120 --concurrency 64]
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createDatabase, dropDatabase, withDatabase } from '../model/database.ts'
import { resolveDatabaseServer } from '../model/database-server.ts'
import { Migrator } from '../model/migrator.ts'
import { multipart, pngBytes } from './support/uploads.ts'
import { postJson, startServer } from './support/processes.ts'

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '60' }, concurrency: { type: 'string', default: '64' } }
})
const seconds = Number(values.seconds)
const concurrency = Number(values.concurrency)

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

async function main() {
  const server = await resolveDatabaseServer(process.env.DATABASE_URL)
  const name = `miniter_soak_${process.pid}`
  await createDatabase(server.url, name)
  const databaseUrl = withDatabase(server.url, name)
  await new Migrator(databaseUrl).up()
  const uploads = await mkdtemp(join(tmpdir(), 'miniter-soak-'))
  const app = await startServer({
    env: {
      DATABASE_URL: databaseUrl,
      UPLOAD_DIR: uploads,
      BCRYPT_ROUNDS: '8',
      // One client address drives all the load, so the per-IP limits would only measure themselves.
      RATE_LIMIT_MAX: '0',
      LOGIN_RATE_LIMIT_PER_IP: '0',
      LOGIN_RATE_LIMIT_PER_EMAIL: '0',
      SIGNUP_RATE_LIMIT_PER_IP: '0'
    }
  })
  const pid = app.child.pid!
  try {
    const users: { id: number; token: string; email: string }[] = []
    for (let i = 0; i < 100; i++) {
      const email = `soak${i}@example.com`
      await postJson(`${app.url}/sign-up`, { name: `soak ${i}`, email, password: 'password123', profile: '' })
      const login = (await (await postJson(`${app.url}/login`, { email, password: 'password123' })).json()) as {
        user_id: number
        access_token: string
      }
      users.push({ id: login.user_id, token: login.access_token, email })
    }

    const statuses = new Map<number, number>()
    const latencies: number[] = []
    const memory: number[] = []
    const deadline = Date.now() + seconds * 1000
    const sampler = setInterval(() => memory.push(rssMiB(pid)), 1000)
    const picture = multipart('profile_pic', 'p.png', 'image/png', pngBytes)
    const worker = async (n: number) => {
      for (let i = 0; Date.now() < deadline; i++) {
        const user = users[(n * 7 + i) % users.length]
        const other = users[(n + i * 13) % users.length]
        const roll = (n * 31 + i * 17) % 100
        const started = performance.now()
        let status = 0
        try {
          let res: Response
          if (roll < 50) res = await fetch(`${app.url}/timeline/${user.id}?limit=20`)
          else if (roll < 70) res = await postJson(`${app.url}/tweet`, { tweet: `soak ${n}/${i}` }, user.token)
          else if (roll < 80)
            res = await postJson(
              `${app.url}/${i % 2 ? 'follow' : 'unfollow'}`,
              { [i % 2 ? 'follow' : 'unfollow']: other.id },
              user.token
            )
          else if (roll < 85) res = await postJson(`${app.url}/login`, { email: user.email, password: 'password123' })
          else if (roll < 90)
            res = await fetch(`${app.url}/profile-picture`, {
              method: 'POST',
              headers: { ...picture.headers, authorization: user.token },
              body: picture.payload
            })
          else res = await fetch(`${app.url}/users/${other.id}`)
          await res.arrayBuffer()
          status = res.status
        } catch {
          status = 0
        }
        latencies.push(performance.now() - started)
        statuses.set(status, (statuses.get(status) ?? 0) + 1)
      }
    }
    await Promise.all(Array.from({ length: concurrency }, (_, n) => worker(n)))
    clearInterval(sampler)

    latencies.sort((a, b) => a - b)
    const serverErrors = [...statuses].filter(([s]) => s >= 500 && s !== 503).reduce((sum, [, c]) => sum + c, 0)
    const shed = statuses.get(503) ?? 0
    const failed = statuses.get(0) ?? 0
    const half = memory.slice(Math.floor(memory.length / 2))
    const growth = half.length > 1 ? (half[half.length - 1] - half[0]) / half[0] : 0
    process.stdout.write(
      [
        `${latencies.length} requests in ${seconds}s with ${concurrency} clients (${(latencies.length / seconds).toFixed(0)} req/s)`,
        `statuses: ${[...statuses]
          .sort(([a], [b]) => a - b)
          .map(([s, c]) => `${s || 'network error'}: ${c}`)
          .join(', ')}`,
        `latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
        `server RSS MiB: start ${memory[0]?.toFixed(0)}, max ${Math.max(...memory).toFixed(0)}, end ${memory.at(-1)?.toFixed(0)}; second half grew ${(growth * 100).toFixed(1)}%`,
        `5xx other than load shedding: ${serverErrors}; shed (503): ${shed}; network errors: ${failed}`
      ].join('\n') + '\n'
    )
    const ok = serverErrors === 0 && failed === 0 && growth < 0.15
    process.stdout.write(ok ? 'PASS: no 5xx, memory flat\n' : 'FAIL\n')
    process.exitCode = ok ? 0 : 1
  } finally {
    app.child.kill('SIGTERM')
    await app.exited
    await rm(uploads, { recursive: true, force: true })
    await dropDatabase(server.url, name)
    await server.stop()
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
