// Metrics: off by default; GET /metrics for METRICS_TOKEN only; a plain listener on METRICS_PORT; the
// series a dashboard needs, with values that follow what the app did.
import { createServer } from 'node:net'
import t from 'tap'
import { buildTestApp, signUpAndLogin } from '../helper.ts'

const token = 'a-metrics-token-for-tests'

/** The value of one series (name{labels} value), or undefined when absent. */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

t.test('without METRICS_TOKEN or METRICS_PORT there are no metrics', async (t) => {
  const app = await buildTestApp(t)
  t.equal((await app.inject({ url: '/metrics' })).statusCode, 404)
  const doc = (await app.inject({ url: '/docs/json' })).json()
  t.notOk(doc.paths['/metrics'], 'nor any in the API document')
})

t.test('GET /metrics with METRICS_TOKEN', async (t) => {
  // Every scrape asks the database for the fan-out backlog, so each shows the outbox as it is now.
  const app = await buildTestApp(t, { METRICS_TOKEN: token, READY_CACHE_MS: '0' })
  const scrape = async () => {
    const res = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } })
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
    return res.body
  }

  t.test('refuses a missing or wrong token with a JSON 401', async (t) => {
    for (const authorization of [undefined, `Bearer ${token}x`, token, 'Bearer ']) {
      const res = await app.inject({ url: '/metrics', headers: authorization ? { authorization } : {} })
      t.equal(res.statusCode, 401)
      t.match(res.json(), { message: /METRICS_TOKEN/ })
    }
  })

  t.test('counts requests by route pattern and status, with latency histograms', async (t) => {
    const user = await signUpAndLogin(app, 'Counted')
    const before = await scrape()
    const series = 'http_requests_total{method="GET",route="/users/:user_id",status_code="200"}'
    const missing = 'http_requests_total{method="GET",route="/users/:user_id",status_code="404"}'
    for (let i = 0; i < 3; i++) await app.inject({ url: `/users/${user.id}` })
    await app.inject({ url: '/users/999999' })
    const after = await scrape()
    t.equal((valueOf(after, series) ?? 0) - (valueOf(before, series) ?? 0), 3, 'three 200s, one series for every id')
    t.equal((valueOf(after, missing) ?? 0) - (valueOf(before, missing) ?? 0), 1)
    t.ok(
      valueOf(after, 'http_request_duration_seconds_count{method="GET",route="/users/:user_id",status_code="200"}')! >=
        3
    )
    t.match(after, /http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/users\/:user_id"/)
    await app.inject({ url: '/no/such/route' })
    t.match(await scrape(), /http_requests_total\{method="GET",route="unmatched",status_code="404"\} 1/)
  })

  t.test('database pools, the fan-out backlog and lag, the event loop', async (t) => {
    const author = await signUpAndLogin(app, 'Author')
    const fan = await signUpAndLogin(app, 'Fan')
    await app.inject({
      method: 'POST',
      url: '/follow',
      headers: { authorization: fan.token },
      payload: { follow: author.id }
    })
    await app.inject({
      method: 'POST',
      url: '/tweet',
      headers: { authorization: author.token },
      payload: { tweet: 'hi' }
    })
    const pending = await scrape()
    t.equal(valueOf(pending, 'miniter_fanout_backlog_rows'), 1, 'the tweet waits for fan-out (no workers in tests)')
    t.ok(valueOf(pending, 'miniter_fanout_lag_seconds')! >= 0)
    await app.drainFanout()
    const drained = await scrape()
    t.equal(valueOf(drained, 'miniter_fanout_backlog_rows'), 0)
    t.equal(valueOf(drained, 'miniter_fanout_lag_seconds'), 0)
    t.ok(valueOf(drained, 'miniter_db_pool_connections{pool="primary",state="idle"}')! >= 1, 'idle connections')
    t.equal(valueOf(drained, 'miniter_db_pool_connections{pool="primary",state="waiting"}'), 0)
    t.ok(valueOf(drained, 'nodejs_eventloop_lag_seconds')! >= 0)
    t.ok(valueOf(drained, 'process_resident_memory_bytes')! > 0)
  })

  t.test('is listed in the API document', async (t) => {
    const doc = (await app.inject({ url: '/docs/json' })).json()
    t.ok(doc.paths['/metrics']?.get)
  })
})

t.test('METRICS_PORT serves /metrics on 127.0.0.1 without a token, apart from the API', async (t) => {
  const port = await freePort()
  const app = await buildTestApp(t, { METRICS_PORT: String(port) })
  t.equal((await app.inject({ url: '/metrics' })).statusCode, 404, 'not on the API')
  await app.listen({ port: 0, host: '127.0.0.1' })
  const res = await fetch(`http://127.0.0.1:${port}/metrics`)
  t.equal(res.status, 200)
  t.match(await res.text(), /http_requests_total|nodejs_eventloop_lag_seconds/)
  t.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404)
  await app.close()
  await t.rejects(fetch(`http://127.0.0.1:${port}/metrics`), 'closed with the app')
})
