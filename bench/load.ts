// One autocannon measurement: a warm-up whose figures are discarded, then the measured run, with exact
// (sub-millisecond) latencies and the server's RSS sampled while it runs.
import autocannon from 'autocannon'
import { sampleRss, type ServerProcess } from '../scripts/support/processes.ts'

export interface LoadSettings {
  connections: number
  /** Seconds measured. */
  duration: number
  /** Seconds of load before measuring, to warm JIT, pools and the buffer pool. */
  warmup: number
}

export interface LoadSpec {
  path: string
  method?: 'GET' | 'POST'
  /** Builds each request afresh (a random user, a distinct token); its path overrides `path`. */
  next?: () => { path?: string; headers?: Record<string, string>; body?: string }
  /** Overrides the connection count (the latency sampler uses one). */
  connections?: number
  /** Requests per second across all connections; unset means as fast as the server answers. */
  rate?: number
}

export interface Measurement {
  requestsPerSecond: number
  p50: number
  p99: number
  /** Connection errors and timeouts. */
  errors: number
  non2xx: number
  responses: number
  rssMax?: number
  rssEnd?: number
}

interface RawRun {
  result: autocannon.Result
  latencies: number[]
}

function fire(origin: string, spec: LoadSpec, connections: number, duration: number): Promise<RawRun> {
  const latencies: number[] = []
  const next = spec.next
  const request: autocannon.Request = next
    ? { method: spec.method ?? 'GET', path: spec.path, setupRequest: (req) => ({ ...req, ...next() }) }
    : { method: spec.method ?? 'GET', path: spec.path }
  return new Promise((resolveRun, reject) => {
    const instance = autocannon(
      {
        url: origin,
        connections: spec.connections ?? connections,
        duration,
        overallRate: spec.rate,
        requests: [request],
        // A slow answer is a finding, not an error: only a hung server should reach this.
        timeout: 30
      },
      (error: Error | null, result) => (error ? reject(error) : resolveRun({ result, latencies }))
    )
    // autocannon's own histogram has 1 ms resolution, too coarse for /ping; these are hrtime-based.
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime)
    })
  })
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

function summarise({ result, latencies }: RawRun): Measurement {
  const sorted = Float64Array.from(latencies).sort()
  const values = Array.from(sorted)
  return {
    requestsPerSecond: result['2xx'] / result.duration,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    errors: result.errors,
    non2xx: result.non2xx,
    responses: result['2xx'] + result.non2xx
  }
}

/**
 * Warms up, then measures `spec` against `server`. A `companion` (e.g. a latency sampler on another
 * route) runs alongside the measured part only, and its result is returned with the measurement.
 */
export async function measure<T = undefined>(
  server: ServerProcess,
  spec: LoadSpec,
  settings: LoadSettings,
  companion?: () => Promise<T>
): Promise<{ measurement: Measurement; companion?: T }> {
  if (settings.warmup > 0) {
    await fire(server.url, spec, settings.connections, settings.warmup)
    // Requests the warm-up left in flight (queued bcrypt work, say) must not eat into the measured run.
    await new Promise((r) => setTimeout(r, 1000))
  }
  const rss = sampleRss(server)
  const [raw, extra] = await Promise.all([
    fire(server.url, spec, settings.connections, settings.duration),
    companion?.()
  ])
  const { max, end } = await rss.stop()
  return { measurement: { ...summarise(raw), rssMax: max, rssEnd: end }, companion: extra }
}

/** Light, paced load (e.g. /ping at 20 req/s over one connection) to watch latency, not throughput. */
export async function sampleLatency(
  origin: string,
  path: string,
  rate: number,
  duration: number
): Promise<Measurement> {
  return summarise(await fire(origin, { path, connections: 1, rate }, 1, duration))
}
