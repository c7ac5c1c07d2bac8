// Rate limits on Redis (REDIS_URL): one budget for every instance, per-process counting while Redis is
// away (logged once), shared counting again once it is back.
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { buildApp, buildServices } from '../../app.ts'
import { DatabaseProxy } from '../database-proxy.ts'
import { testConfig, testRedisEnv, testRedisUrl } from '../helper.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** An app whose warnings and notices are kept in `lines`. */
async function instance(t: Test, env: Record<string, string>) {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean))
      done()
    }
  })
  const config = await testConfig(t, env)
  const app = await buildApp(config, await buildServices(config, pino({ level: 'info' }, sink)))
  t.teardown(() => app.close())
  await app.ready()
  const messages = () => lines.map((line) => JSON.parse(line).msg as string)
  return { app, messages }
}

const statuses = async (app: FastifyInstance, count: number, url = '/users/1') => {
  const codes: number[] = []
  for (let i = 0; i < count; i++) codes.push((await app.inject({ url })).statusCode)
  return codes
}

t.test('two instances on one Redis share one budget', async (t) => {
  const env = { ...testRedisEnv(), RATE_LIMIT_MAX: '5' }
  const [a, b] = [await instance(t, env), await instance(t, env)]
  t.same(await statuses(a.app, 3), [404, 404, 404], 'three through A')
  t.same(await statuses(b.app, 3), [404, 404, 429], 'two more through B, then the limit of both together')
  const refused = await a.app.inject({ url: '/users/1' })
  t.equal(refused.statusCode, 429, 'A refuses too')
  t.match(refused.json(), { message: /Too many requests/ })
  t.ok(Number(refused.headers['retry-after']) > 0)
})

t.test('without Redis each instance has a budget of its own', async (t) => {
  const env = { RATE_LIMIT_MAX: '2' }
  const [a, b] = [await instance(t, env), await instance(t, env)]
  t.same(await statuses(a.app, 3), [404, 404, 429])
  t.same(await statuses(b.app, 3), [404, 404, 429])
})

t.test('the login throttle is shared too, apart from the API budget', async (t) => {
  const env = { ...testRedisEnv(), LOGIN_RATE_LIMIT_PER_IP: '3' }
  const [a, b] = [await instance(t, env), await instance(t, env)]
  const login = (app: FastifyInstance) =>
    app.inject({ method: 'POST', url: '/login', payload: { email: 'nobody@example.com', password: 'wrong password' } })
  t.same(
    [(await login(a.app)).statusCode, (await login(b.app)).statusCode, (await login(a.app)).statusCode],
    [401, 401, 401]
  )
  t.equal((await login(b.app)).statusCode, 429, 'the fourth attempt, whichever instance takes it')
  t.same(await statuses(a.app, 1), [404], 'the API budget is another one')
})

t.test('Redis going away: requests are served and counted per instance; back: shared again', async (t) => {
  const proxy = await DatabaseProxy.start(t, testRedisUrl)
  const env = testRedisEnv()
  const routed = `redis://127.0.0.1:${proxy.port}`
  const { app, messages } = await instance(t, { ...env, REDIS_URL: routed, RATE_LIMIT_MAX: '4' })
  const redis = new Redis(testRedisUrl, { keyPrefix: env.REDIS_KEY_PREFIX })
  t.teardown(() => redis.disconnect())
  const sharedCount = async () => Number((await redis.get('limit:api 127.0.0.1')) ?? 0)

  t.same(await statuses(app, 2), [404, 404])
  t.equal(await sharedCount(), 2, 'counted in Redis')
  await proxy.cut()
  t.same(await statuses(app, 5), [404, 404, 404, 404, 429], 'served, with a budget counted in this process')
  t.equal(await sharedCount(), 2, 'nothing reached Redis meanwhile')
  const down = messages().filter((message) => message.startsWith('rate limits: Redis does not answer'))
  t.equal(down.length, 1, 'logged once')

  await proxy.restore()
  // The client reconnects on its own, within its retry delay.
  let codes: number[] = []
  for (let i = 0; i < 100 && (await sharedCount()) === 2; i++) {
    await sleep(50)
    codes = await statuses(app, 1)
  }
  t.ok((await sharedCount()) > 2, 'counted in Redis again')
  t.same(codes, [404])
  t.ok(messages().includes('rate limits: Redis answers again, limits are shared by every instance'))
})
