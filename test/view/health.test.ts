import t from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import { createPool } from '../../model/database.ts'
import { DatabaseProxy } from '../database-proxy.ts'
import { buildTestApp, signUpAndLogin } from '../helper.ts'

// Every request below must finish: a hang fails the test through this timeout, not a timed assertion.
const bounded = { timeout: 30_000 }

t.test('GET /health/ready answers 200 while the database answers', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ url: '/health/ready' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ready', fanout: { pending: 0, oldest_pending_seconds: 0 } })
})

t.test('the database cut off and restored', bounded, async (t) => {
  const proxy = await DatabaseProxy.start(t)
  const app = await buildTestApp(t, {}, { databaseUrl: (url) => proxy.route(url) })
  const alice = await signUpAndLogin(app, 'Alice')
  t.equal((await app.inject({ url: `/timeline/${alice.id}` })).statusCode, 200)

  await proxy.cut()

  t.test('data routes answer 503 with a JSON message', async (t) => {
    const res = await app.inject({ url: `/timeline/${alice.id}` })
    t.equal(res.statusCode, 503)
    t.match(res.headers['content-type'], /application\/json/)
    t.same(res.json(), { message: 'Service temporarily unavailable' })
    t.equal(res.headers['retry-after'], '5')
  })

  t.test('an authenticated route answers 503, not 401, when the account cannot be looked up', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/tweet',
      headers: { authorization: alice.token },
      payload: { tweet: 'anyone there?' }
    })
    t.equal(res.statusCode, 503)
  })

  t.test('GET /ping still answers 200 and /health/ready answers 503', async (t) => {
    const ping = await app.inject({ url: '/ping' })
    t.equal(ping.statusCode, 200)
    t.equal(ping.body, 'pong')
    const ready = await app.inject({ url: '/health/ready' })
    t.equal(ready.statusCode, 503)
    t.same(ready.json(), { message: 'The database is not answering' })
  })

  t.test('after the database is back, everything answers again without a restart', async (t) => {
    await proxy.restore()
    t.equal((await app.inject({ url: '/health/ready' })).statusCode, 200)
    const timeline = await app.inject({ url: `/timeline/${alice.id}` })
    t.equal(timeline.statusCode, 200)
    t.same(timeline.json(), { user_id: alice.id, timeline: [], next_cursor: null, prev_cursor: null })
  })
})

t.test('a database that stops answering', bounded, async (t) => {
  const proxy = await DatabaseProxy.start(t)
  const app = await buildTestApp(
    t,
    { DATABASE_CONNECT_TIMEOUT_MS: '300', DATABASE_QUERY_TIMEOUT_MS: '300' },
    { databaseUrl: (url) => proxy.route(url) }
  )
  const alice = await signUpAndLogin(app, 'Alice')

  proxy.stall()

  t.test('a request on a pooled connection fails at the query timeout with 503', async (t) => {
    const res = await app.inject({ url: `/timeline/${alice.id}` })
    t.equal(res.statusCode, 503)
    t.same(res.json(), { message: 'Service temporarily unavailable' })
  })

  t.test('concurrent requests, on pooled and on new connections, all answer 503', async (t) => {
    const responses = await Promise.all(Array.from({ length: 12 }, () => app.inject({ url: `/timeline/${alice.id}` })))
    t.same(
      responses.map((res) => res.statusCode),
      Array(12).fill(503)
    )
    t.equal((await app.inject({ url: '/health/ready' })).statusCode, 503)
  })

  t.test('once the database answers again, so does the app', async (t) => {
    await proxy.restore()
    t.equal((await app.inject({ url: '/health/ready' })).statusCode, 200)
    t.equal((await app.inject({ url: `/timeline/${alice.id}` })).statusCode, 200)
  })
})

t.test(
  'without database timeouts, the request deadline and the queue limit still bound a hung database',
  bounded,
  async (t) => {
    const proxy = await DatabaseProxy.start(t)
    const app = await buildTestApp(
      t,
      {
        DATABASE_CONNECT_TIMEOUT_MS: '60000',
        DATABASE_QUERY_TIMEOUT_MS: '0',
        DATABASE_QUEUE_LIMIT: '1',
        HANDLER_TIMEOUT_MS: '300'
      },
      { databaseUrl: (url) => proxy.route(url) }
    )
    const alice = await signUpAndLogin(app, 'Alice')
    proxy.stall()
    t.teardown(() => proxy.restore())

    // Ten requests hold the pool's ten connections, one waits in the queue, the twelfth is turned away.
    const responses = await Promise.all(Array.from({ length: 12 }, () => app.inject({ url: `/timeline/${alice.id}` })))
    t.same(
      responses.map((res) => res.statusCode),
      Array(12).fill(503)
    )
    const messages = responses.map((res) => res.json().message)
    t.equal(
      messages.filter((message) => message === 'Service temporarily unavailable').length,
      1,
      'one over the queue limit'
    )
    t.equal(
      messages.filter((message) => message === 'The request took too long, retry later').length,
      11,
      'the rest at the deadline'
    )
  }
)

t.test(
  'a statement the database stops at its time limit answers 503, and the lock it waited on is free again',
  bounded,
  async (t) => {
    let databaseUrl = ''
    const app = await buildTestApp(
      t,
      { DATABASE_QUERY_TIMEOUT_MS: '1000' },
      { databaseUrl: (url) => (databaseUrl = url) }
    )
    const alice = await signUpAndLogin(app, 'Alice')
    const bob = await signUpAndLogin(app, 'Bob')
    const other = createPool(databaseUrl, { connectionLimit: 1 })
    t.teardown(() => other.end())
    const [[{ version }]] = await other.query<RowDataPacket[]>('SELECT VERSION() AS version')
    // MySQL's limit covers read-only SELECTs only; there the client's query timeout answers 503 instead.
    const mariadb = /mariadb/i.test(version as string)
    const follow = () =>
      app.inject({
        method: 'POST',
        url: '/follow',
        headers: { authorization: alice.token },
        payload: { follow: bob.id }
      })

    // Another session holds Bob's row, so the follow's lock wait outlasts the statement's time limit.
    const holder = await other.getConnection()
    await holder.beginTransaction()
    await holder.query('SELECT id FROM users WHERE id = ? FOR UPDATE', [bob.id])
    const res = await follow()
    await holder.rollback()
    holder.release()
    t.equal(res.statusCode, 503)
    t.equal(res.headers['retry-after'], '5')
    if (mariadb) t.same(res.json(), { message: 'The request took too long, retry later' })
    t.equal((await follow()).statusCode, 200, 'the same request succeeds once the lock is released')
    t.match((await app.inject({ url: `/users/${alice.id}` })).json(), { following_count: 1 })
  }
)
