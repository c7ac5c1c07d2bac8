// StreamService: which streams an event reaches (the author, followers by audience, notifications to their
// user), a client too slow to keep up dropped, the heartbeat, the per-user cap, tickets used once, a
// graceful stop; and the Redis bus falling back to this instance while Redis is away.
import t from 'tap'
import { pino } from 'pino'
import { buildServices } from '../../app.ts'
import { TooManyRequests, Unauthorized, Unavailable } from '../../service/errors.ts'
import { LocalEventBus } from '../../service/events.ts'
import { RedisEventBus } from '../../service/redis-event-bus.ts'
import type { StreamMessage, StreamSink } from '../../service/stream-service.ts'
import { createRedis } from '../../model/redis.ts'
import { DatabaseProxy } from '../database-proxy.ts'
import { testConfig, testRedisEnv, testRedisUrl } from '../helper.ts'

const password = 'password123'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A sink keeping what it was sent; `accepts` false plays a client that has stopped reading. */
function recordingSink(accepts = true) {
  const messages: StreamMessage[] = []
  let closed = false
  const sink: StreamSink & { messages: StreamMessage[]; closed: () => boolean } = {
    messages,
    closed: () => closed,
    send(message) {
      messages.push(message)
      return accepts
    },
    close() {
      closed = true
    }
  }
  return sink
}

async function until(check: () => boolean, ms = 3_000): Promise<boolean> {
  for (const deadline = Date.now() + ms; !check(); await sleep(10)) if (Date.now() > deadline) return false
  return true
}

t.test('StreamService', async (t) => {
  const config = await testConfig(t, { STREAM_MAX_PER_USER: '2', STREAM_HEARTBEAT: '1s' })
  const services = await buildServices(config)
  t.teardown(() => services.close())
  const { userService, tweetService, followService, streamService, fanoutService } = services
  const signUp = async (name: string) =>
    (await userService.signUp({ name, email: `${name}@example.com`, password, profile: '' })).id
  const [reader, author, stranger, celebrity] = [
    await signUp('reader'),
    await signUp('author'),
    await signUp('stranger'),
    await signUp('celebrity')
  ]
  await followService.follow(reader, author)
  await services.fanoutService.drain()
  const tweets = (sink: ReturnType<typeof recordingSink>) =>
    sink.messages.filter((m) => m.event === 'tweet').map((m) => (m.data as { id: number }).id)

  t.test('a post reaches its author at once and followers once fanned out; nobody else', async (t) => {
    const [mine, theirs, other] = [recordingSink(), recordingSink(), recordingSink()]
    const streams = [
      streamService.open(author, mine),
      streamService.open(reader, theirs),
      streamService.open(stranger, other)
    ]
    await Promise.all(streams.map((stream) => stream.start()))
    const { id } = await tweetService.tweet(author, 'hello')
    t.ok(await until(() => tweets(mine).includes(id)), 'the author')
    t.same(tweets(theirs), [], 'not before the fan-out')
    await fanoutService.drain()
    t.ok(await until(() => tweets(theirs).includes(id)), 'the follower')
    t.equal(theirs.messages.find((m) => m.event === 'tweet')?.id, id, 'with the cursor as id')
    await sleep(50)
    t.same(tweets(other), [], 'not a stranger')
    for (const stream of streams) stream.close()
  })

  t.test('an account read directly (pull): its followers get a post at once', async (t) => {
    await followService.follow(reader, celebrity)
    await services.fanoutService.drain()
    // FANOUT_MAX_FOLLOWERS is far above one follower: switch the account by hand, as crossing it would.
    const { createPool } = await import('../../model/database.ts')
    const pool = createPool(config.databaseUrl)
    await pool.query("UPDATE users SET fanout = 'pull' WHERE id = ?", [celebrity])
    await pool.end()
    const sink = recordingSink()
    const stream = streamService.open(reader, sink)
    await stream.start()
    const { id } = await tweetService.tweet(celebrity, 'to all my readers')
    t.ok(await until(() => tweets(sink).includes(id)), 'without any fan-out')
    stream.close()
  })

  t.test('a notification reaches the streams of its user, each once', async (t) => {
    const [first, second] = [recordingSink(), recordingSink()]
    const streams = [streamService.open(author, first), streamService.open(author, second)]
    await Promise.all(streams.map((stream) => stream.start()))
    await followService.follow(stranger, author)
    const notifications = (sink: ReturnType<typeof recordingSink>) =>
      sink.messages.filter((m) => m.event === 'notification')
    t.ok(await until(() => notifications(first).length === 1 && notifications(second).length === 1))
    t.match(notifications(first)[0].data, { type: 'follow', account: { id: stranger } })
    await followService.follow(stranger, author)
    await sleep(50)
    t.equal(notifications(first).length, 1, 'a repeated follow notifies nobody again')
    for (const stream of streams) stream.close()
  })

  t.test('at most maxPerUser streams a user; closing one frees its place', async (t) => {
    const [a, b] = [streamService.open(stranger, recordingSink()), streamService.open(stranger, recordingSink())]
    t.throws(() => streamService.open(stranger, recordingSink()), TooManyRequests)
    a.close()
    const c = streamService.open(stranger, recordingSink())
    t.equal(streamService.openStreams, 2)
    b.close()
    c.close()
    c.close()
    t.equal(streamService.openStreams, 0, 'closing twice is closing once')
  })

  t.test('a client that does not keep up is dropped, the others keep their streams', async (t) => {
    const [slow, fine] = [recordingSink(false), recordingSink()]
    streamService.open(author, slow)
    const kept = streamService.open(author, fine)
    await tweetService.tweet(author, 'too fast for some')
    t.ok(await until(() => slow.closed()), 'dropped at its first message not taken')
    t.ok(await until(() => tweets(fine).length === 1))
    t.notOk(fine.closed())
    t.equal(streamService.openStreams, 1)
    kept.close()
  })

  t.test('a heartbeat comment on every stream', async (t) => {
    const sink = recordingSink()
    const stream = streamService.open(stranger, sink)
    t.ok(await until(() => sink.messages.some((m) => m.comment === 'heartbeat'), 2_500))
    stream.close()
  })

  t.test('a ticket is good once', async (t) => {
    const { ticket } = await streamService.issueTicket(reader)
    const redeemed = await Promise.allSettled([streamService.redeemTicket(ticket), streamService.redeemTicket(ticket)])
    t.same(
      redeemed.map((result) => result.status).sort(),
      ['fulfilled', 'rejected'],
      'two redemptions at once: one succeeds'
    )
    t.equal((redeemed.find((result) => result.status === 'fulfilled') as PromiseFulfilledResult<number>).value, reader)
    await t.rejects(streamService.redeemTicket(ticket), Unauthorized)
  })

  t.test('a graceful stop ends every stream and opens no more', async (t) => {
    const sink = recordingSink()
    streamService.open(reader, sink)
    streamService.closeAll()
    t.ok(sink.closed())
    t.equal(streamService.openStreams, 0)
    t.throws(() => streamService.open(reader, recordingSink()), Unavailable)
  })
})

t.test('RedisEventBus: every instance hears an event; with Redis away, this instance still does', async (t) => {
  const proxy = await DatabaseProxy.start(t, testRedisUrl)
  const { REDIS_KEY_PREFIX: keyPrefix } = testRedisEnv()
  const lines: string[] = []
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line).msg as string) })
  const through = createRedis({ url: `redis://127.0.0.1:${proxy.port}`, keyPrefix })
  const direct = createRedis({ url: testRedisUrl, keyPrefix })
  const [here, there] = [new RedisEventBus(through, log), new RedisEventBus(direct, log)]
  t.teardown(async () => {
    await Promise.all([here.close(), there.close()])
    through.disconnect()
    direct.disconnect()
  })
  t.same(await Promise.all([here.subscribed, there.subscribed]), [true, true])
  const heard = { here: [] as number[], there: [] as number[] }
  here.subscribe((event) => event.type === 'delete' && heard.here.push(event.id))
  there.subscribe((event) => event.type === 'delete' && heard.there.push(event.id))
  here.publish({ type: 'delete', id: 1, author_id: 1 })
  t.ok(await until(() => heard.here.includes(1) && heard.there.includes(1)), 'both instances, the publisher too')

  await proxy.cut()
  await until(() => through.status !== 'ready')
  here.publish({ type: 'delete', id: 2, author_id: 1 })
  here.publish({ type: 'delete', id: 3, author_id: 1 })
  t.same(heard.here.slice(1), [2, 3], 'this instance’s streams still get events')
  await sleep(100)
  t.same(heard.there, [1], 'the other instance could not hear them')
  t.equal(lines.filter((line) => line.startsWith('live events: Redis does not answer')).length, 1, 'logged once')

  await proxy.restore()
  t.ok(await until(() => through.status === 'ready', 5_000), 'the client reconnects')
  let next = 4
  t.ok(
    await until(() => {
      if (!heard.there.includes(next)) here.publish({ type: 'delete', id: ++next, author_id: 1 })
      return heard.there.includes(next)
    }, 5_000),
    'events reach the other instance again'
  )
  t.ok(lines.includes('live events: Redis answers again, events reach every instance'))
})

t.test('LocalEventBus: a listener that throws does not keep an event from the others', async (t) => {
  const bus = new LocalEventBus()
  const heard: number[] = []
  bus.subscribe(() => {
    throw new Error('broken listener')
  })
  const unsubscribe = bus.subscribe((event) => event.type === 'delete' && heard.push(event.id))
  bus.publish({ type: 'delete', id: 7, author_id: 1 })
  unsubscribe()
  bus.publish({ type: 'delete', id: 8, author_id: 1 })
  t.same(heard, [7])
})
