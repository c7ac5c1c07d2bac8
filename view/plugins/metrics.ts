// Prometheus metrics, off unless asked for: GET /metrics behind METRICS_TOKEN (a bearer token), and/or a
// plain /metrics on METRICS_PORT bound to 127.0.0.1 for a scraper on the same host. Requests by route and
// status with latency histograms; database pools; the fan-out backlog; Node's own (event-loop delay, heap).
import { timingSafeEqual } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { HealthService } from '../../service/health-service.ts'
import { Unauthorized } from '../../service/errors.ts'

export interface MetricsSettings {
  /** GET /metrics on the API, for `Authorization: Bearer <token>` only. */
  token?: string
  /** A separate listener on 127.0.0.1 serving /metrics to anyone who can reach it. */
  port?: number
}

/** More gauges a part of the app reports (the live streams, for instance). */
export type GaugeSource = () => number

/** The registry of one app: every instance has its own, scraped on its own. */
export function createMetrics(
  health: HealthService,
  sources: Record<string, { help: string; read: GaugeSource }> = {}
) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const labelNames = ['method', 'route', 'status_code'] as const
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route (its pattern) and status code',
    labelNames,
    registers: [registry]
  })
  const latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from a request’s arrival to its answer, by method, route and status code',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry]
  })
  new Gauge({
    name: 'miniter_db_pool_connections',
    help: 'Database pool connections by pool (primary, replica) and state: in_use, idle, and waiting requests',
    labelNames: ['pool', 'state'],
    registers: [registry],
    collect() {
      for (const [pool, usage] of Object.entries(health.poolUsage())) {
        this.set({ pool, state: 'in_use' }, usage.inUse)
        this.set({ pool, state: 'idle' }, usage.idle)
        this.set({ pool, state: 'waiting' }, usage.waiting)
      }
    }
  })
  const backlog = async () => {
    try {
      return (await health.readiness()).fanout
    } catch {
      // The database does not answer: the gauges keep their last values, and /health/ready says so.
      return undefined
    }
  }
  new Gauge({
    name: 'miniter_fanout_backlog_rows',
    help: 'Tweets whose copying to followers’ timelines has not finished (all instances together)',
    registers: [registry],
    async collect() {
      const fanout = await backlog()
      if (fanout) this.set(fanout.pending)
    }
  })
  new Gauge({
    name: 'miniter_fanout_lag_seconds',
    help: 'Age of the oldest tweet still being copied to followers’ timelines: how late the newest timelines are',
    registers: [registry],
    async collect() {
      const fanout = await backlog()
      if (fanout) this.set(fanout.oldest_pending_seconds)
    }
  })
  for (const [name, { help, read }] of Object.entries(sources)) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read())
      }
    })
  }
  return {
    registry,
    observe(request: FastifyRequest, statusCode: number, seconds: number) {
      const labels = {
        method: request.method,
        // The route's pattern (/tweet/:id), never the URL: one series per route, whatever the ids.
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(statusCode)
      }
      requests.inc(labels)
      latency.observe(labels, seconds)
    }
  }
}

export type Metrics = ReturnType<typeof createMetrics>

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Counts every answer, and serves /metrics as the settings say (neither: nothing is served). */
export function registerMetrics(app: FastifyInstance, metrics: Metrics, settings: MetricsSettings): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.observe(request, reply.statusCode, reply.elapsedTime / 1000)
  })
  if (settings.token) {
    const expected = `Bearer ${settings.token}`
    app.get(
      '/metrics',
      {
        config: { rateLimit: false },
        schema: {
          summary: 'Prometheus metrics of this instance (METRICS_TOKEN)',
          description:
            'Served only when METRICS_TOKEN is set, to `Authorization: Bearer <METRICS_TOKEN>`: requests by ' +
            'route and status with latency histograms, database pools, the fan-out backlog and lag, Node’s ' +
            'event-loop delay and memory. README "Metrics" lists them.',
          tags: ['health']
        }
      },
      async (request, reply) => {
        if (!sameSecret(request.headers.authorization ?? '', expected)) {
          throw new Unauthorized('Metrics need Authorization: Bearer <METRICS_TOKEN>')
        }
        return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
      }
    )
  }
  if (settings.port !== undefined) {
    const port = settings.port
    let server: Server | undefined
    app.addHook('onListen', async () => {
      server = createServer((request, response) => {
        if (request.method !== 'GET' || request.url !== '/metrics') {
          response.writeHead(404).end()
          return
        }
        metrics.registry.metrics().then(
          (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
          (error: unknown) => {
            app.log.error({ err: error }, 'metrics: could not collect')
            response.writeHead(500).end()
          }
        )
      })
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject)
        server!.listen(port, '127.0.0.1', resolve)
      })
      app.log.info({ port }, `metrics at http://127.0.0.1:${port}/metrics`)
    })
    app.addHook('onClose', async () => {
      if (server?.listening) await new Promise<void>((resolve) => server!.close(() => resolve()))
    })
  }
}
