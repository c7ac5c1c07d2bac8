// StreamService: which streams an event reaches (the author, followers by audience, notifications to their
// user), resuming from Last-Event-ID, a client too slow to keep up dropped, the heartbeat, the per-user cap,
// tickets used once, a graceful stop; and the Redis bus falling back to this instance while Redis is away.
import t from 'tap'
import { pino } from 'pino'
import { buildServices } from '../../app.ts'
import { ServiceError, TooManyRequests, Unauthorized, Unavailable } from '../../service/errors.ts'
import { LocalEventBus, type LiveEvent } from '../../service/events.ts'
import type { WorkerLog } from '../../service/fanout-worker.ts'
import type { NotificationItem } from '../../service/notification-service.ts'
import { RedisEventBus } from '../../service/redis-event-bus.ts'
import { StreamService, type StreamMessage, type StreamSink } from '../../service/stream-service.ts'
import type { TweetItem } from '../../service/tweet-service.ts'
import { createPool, Transactor, type Pool } from '../../model/database.ts'
import { FollowDao } from '../../model/follow-dao.ts'
import { createRedis } from '../../model/redis.ts'
import { StreamTicketDao } from '../../model/stream-ticket-dao.ts'
import { DatabaseProxy } from '../database-proxy.ts'
import { rejection, testConfig, testRedisEnv, testRedisUrl } from '../helper.ts'

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

/** The service error `work` throws or rejects with (each caller asserts its class), for its message and details. */
const refusal = async (work: () => unknown) => (await rejection(work)) as ServiceError

/** What a stream was sent, shortly: a tweet as [event, id, tweet id, text], anything else as [event, data]. */
const sent = (sink: { messages: StreamMessage[] }) =>
  sink.messages.map((m) => {
    if (m.event !== 'tweet') return [m.event, m.data]
    const item = m.data as TweetItem
    return [m.event, m.id, item.id, item.tweet]
  })

/** The notifications a stream was sent, as [id, who did it]. */
const notified = (sink: { messages: StreamMessage[] }) =>
  sink.messages
    .filter((m) => m.event === 'notification')
    .map((m) => [(m.data as NotificationItem).id, (m.data as NotificationItem).account.id])

type Logged = [details: object, message: string]

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
  const pool = createPool(config.databaseUrl)
  t.teardown(() => pool.end())

  /**
   * A hub of its own on a bus only the test publishes to (the services' writes do not reach it), reading
   * through the real services and DAOs: what it looks up is recorded and can be waited for, and so is what
   * it logs. `followPool` gives its FollowDao another pool (a closed one, to make lookups fail).
   */
  function hub(t: { teardown(fn: () => unknown): void }, followPool: Pool = pool) {
    const bus = new LocalEventBus()
    const lookups: unknown[][] = []
    const pending: Promise<unknown>[] = []
    const record = <T>(lookup: unknown[], call: Promise<T>): Promise<T> => {
      lookups.push(lookup)
      pending.push(call)
      return call
    }
    class RecordedFollowDao extends FollowDao {
      override followersAmong(...args: Parameters<FollowDao['followersAmong']>) {
        return record(['followersAmong', args[0], [...args[1]]], super.followersAmong(...args))
      }
    }
    const logged = { info: [] as Logged[], warn: [] as Logged[], error: [] as Logged[] }
    const log: WorkerLog = {
      info: (details, message) => void logged.info.push([details, message]),
      warn: (details, message) => void logged.warn.push([details, message]),
      error: (details, message) => void logged.error.push([details, message])
    }
    const service = new StreamService(
      bus,
      {
        streamItems: (rowId, viewerIds) =>
          record(['streamItems', rowId, [...viewerIds]], tweetService.streamItems(rowId, viewerIds)),
        timelineFor: (userId, page, viewerId) =>
          record(['timelineFor', userId], tweetService.timelineFor(userId, page, viewerId)),
        notifications: (userId, page) =>
          record(['notifications', userId], services.notificationService.list(userId, page))
      },
      new RecordedFollowDao(followPool),
      new StreamTicketDao(pool),
      new Transactor(pool),
      { maxPerUser: 2, heartbeatMs: 60_000, resumeLimit: 2, ticketSeconds: 30 },
      log
    )
    t.teardown(() => service.closeAll())
    return {
      service,
      publish: (event: LiveEvent) => bus.publish(event),
      lookups,
      logged,
      /** Resolves once every lookup started so far, and whatever it led to, is done. */
      idle: async () => {
        for (let seen = -1; seen !== pending.length; await sleep(0)) {
          seen = pending.length
          await Promise.allSettled(pending)
        }
      }
    }
  }

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
    const refused = await refusal(() => streamService.open(stranger, recordingSink()))
    t.type(refused, TooManyRequests)
    t.same([refused.message, refused.details], ['At most 2 open streams per user', { max_streams: 2 }])
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
    for (const used of [ticket, 'never-issued']) {
      const refused = await refusal(() => streamService.redeemTicket(used))
      t.type(refused, Unauthorized)
      t.same([refused.message, refused.details], ['The stream ticket is unknown, used or expired', {}])
    }
  })

  t.test('a stream started without Last-Event-ID sends nothing of the past', async (t) => {
    const { service, lookups } = hub(t)
    await tweetService.tweet(author, 'before the stream')
    await fanoutService.drain()
    const sink = recordingSink()
    await service.open(reader, sink).start()
    t.same(sink.messages, [])
    t.same(lookups, [['notifications', reader]], 'the timeline is not read')
  })

  t.test('resuming from Last-Event-ID sends the tweets missed, oldest first, with their cursor as id', async (t) => {
    const { service } = hub(t)
    const seen = await tweetService.tweet(author, 'seen')
    const missed = [await tweetService.tweet(author, 'missed 1'), await tweetService.tweet(author, 'missed 2')]
    await fanoutService.drain()
    const sink = recordingSink()
    await service.open(reader, sink).start(seen.id)
    t.same(sent(sink), [
      ['tweet', missed[0].id, missed[0].id, 'missed 1'],
      ['tweet', missed[1].id, missed[1].id, 'missed 2']
    ])
    t.match(sink.messages[0]?.data, { id: missed[0].id, user: { id: author }, liked: false, retweeted_by: null })
    t.notOk(sink.closed(), 'no resync: nothing more was missed')
  })

  t.test('more missed than resumeLimit: the oldest resumeLimit tweets, then resync after Last-Event-ID', async (t) => {
    const { service } = hub(t)
    const seen = await tweetService.tweet(author, 'seen')
    const missed = []
    for (const text of ['missed 1', 'missed 2', 'missed 3']) missed.push(await tweetService.tweet(author, text))
    await fanoutService.drain()
    const sink = recordingSink()
    await service.open(reader, sink).start(seen.id)
    t.same(sent(sink), [
      ['tweet', missed[0].id, missed[0].id, 'missed 1'],
      ['tweet', missed[1].id, missed[1].id, 'missed 2'],
      ['resync', { after: seen.id }]
    ])
  })

  t.test('a client too slow while resuming is dropped at the first tweet not taken, and logged', async (t) => {
    const { service, logged } = hub(t)
    const seen = await tweetService.tweet(author, 'seen')
    const missed = []
    for (const text of ['missed 1', 'missed 2', 'missed 3']) missed.push(await tweetService.tweet(author, text))
    await fanoutService.drain()
    const sink = recordingSink(false)
    await service.open(reader, sink).start(seen.id)
    t.same(sent(sink), [['tweet', missed[0].id, missed[0].id, 'missed 1']], 'nothing after, no resync')
    t.ok(sink.closed())
    t.equal(service.openStreams, 0)
    t.same(logged.warn, [[{ user_id: reader }, 'stream: client too slow, dropped']])
  })

  t.test('a delete reaches the author and its followers with the tweet id; nobody else', async (t) => {
    const { service, publish, idle } = hub(t)
    const outsider = await signUp('outsider')
    const [mine, theirs, other] = [recordingSink(), recordingSink(), recordingSink()]
    service.open(author, mine)
    service.open(reader, theirs)
    service.open(outsider, other)
    publish({ type: 'delete', id: 4242, author_id: author })
    await idle()
    t.same(sent(mine), [['delete', { id: 4242 }]], 'the author')
    t.same(sent(theirs), [['delete', { id: 4242 }]], 'a follower')
    t.same(sent(other), [], 'not someone else')
  })

  t.test('a tweet not for its author (self false) reaches the followers only', async (t) => {
    const { service, publish, idle } = hub(t)
    const { id } = await tweetService.tweet(author, 'for my followers')
    const [mine, theirs] = [recordingSink(), recordingSink()]
    service.open(author, mine)
    service.open(reader, theirs)
    publish({ type: 'tweet', id, author_id: author, self: false, audience: 'followers' })
    await idle()
    t.same(sent(theirs), [['tweet', id, id, 'for my followers']])
    t.same(sent(mine), [], 'not the author, though its stream is open')
  })

  t.test('an event for users without a stream here looks nothing up', async (t) => {
    const { service, publish, idle, lookups } = hub(t)
    const { id } = await tweetService.tweet(author, 'nobody listens')
    service.open(reader, recordingSink()).close()
    publish({ type: 'tweet', id, author_id: author, self: true, audience: 'followers' })
    publish({ type: 'delete', id, author_id: author })
    publish({ type: 'notification', user_ids: [reader, author] })
    await idle()
    t.same(lookups, [])
  })

  t.test('notifications reach a stream oldest first, each once, when two events cross', async (t) => {
    const { service, publish, idle, lookups } = hub(t)
    const [popular, outsider] = [await signUp('popular'), await signUp('outsider2')]
    const sink = recordingSink()
    await service.open(popular, sink).start()
    await followService.follow(reader, popular)
    await followService.follow(stranger, popular)
    publish({ type: 'notification', user_ids: [popular, outsider] })
    await idle()
    const first = notified(sink)
    t.same(
      first.map(([, account]) => account),
      [reader, stranger],
      'both, oldest first'
    )
    t.ok(first.length === 2 && first[0][0] < first[1][0], 'by id')
    await followService.follow(celebrity, popular)
    await followService.follow(author, popular)
    // Both events read the same page before either is sent: the second sends nothing again.
    publish({ type: 'notification', user_ids: [popular] })
    publish({ type: 'notification', user_ids: [popular] })
    await idle()
    t.same(
      notified(sink).map(([, account]) => account),
      [reader, stranger, celebrity, author],
      'each once'
    )
    t.same(sent(sink).length, 4, 'nothing else')
    t.same(
      lookups.filter(([of]) => of === 'notifications'),
      Array.from({ length: 4 }, () => ['notifications', popular]),
      'at start, then once an event: none for a user without a stream'
    )
  })

  t.test('a client too slow for its notifications is dropped at the first one not taken', async (t) => {
    const { service, publish, idle, logged } = hub(t)
    const shy = await signUp('shy')
    const sink = recordingSink(false)
    await service.open(shy, sink).start()
    await followService.follow(reader, shy)
    await followService.follow(stranger, shy)
    publish({ type: 'notification', user_ids: [shy] })
    await idle()
    t.same(
      notified(sink).map(([, account]) => account),
      [reader],
      'the oldest, then nothing'
    )
    t.ok(sink.closed())
    t.equal(service.openStreams, 0)
    t.same(logged.warn, [[{ user_id: shy }, 'stream: client too slow, dropped']])
  })

  t.test('an event that cannot be delivered is logged with the event and the error', async (t) => {
    const closed = createPool(config.databaseUrl)
    await closed.end()
    const { service, publish, idle, logged } = hub(t, closed)
    const sink = recordingSink()
    service.open(reader, sink)
    const event: LiveEvent = { type: 'delete', id: 4343, author_id: author }
    publish(event)
    await idle()
    t.same(sent(sink), [])
    t.same(
      logged.error.map(([, message]) => message),
      ['stream: event not delivered']
    )
    const details = (logged.error[0]?.[0] ?? {}) as { err?: Error; event?: LiveEvent }
    t.same(Object.keys(details).sort(), ['err', 'event'])
    t.equal(details.event, event)
    t.match(details.err, { message: /closed/i })
  })

  t.test('a graceful stop ends every stream and opens no more', async (t) => {
    const sink = recordingSink()
    streamService.open(reader, sink)
    streamService.closeAll()
    t.ok(sink.closed())
    t.equal(streamService.openStreams, 0)
    const refused = await refusal(() => streamService.open(reader, recordingSink()))
    t.type(refused, Unavailable)
    t.same([refused.message, refused.details], ['The server is stopping: reconnect to another instance', {}])
  })
})

t.test('RedisEventBus: every instance hears an event; with Redis away, this instance still does', async (t) => {
  const proxy = await DatabaseProxy.start(t, testRedisUrl)
  const { REDIS_KEY_PREFIX: keyPrefix } = testRedisEnv()
  const records: { msg: string; err?: { message: string } }[] = []
  const lines: string[] = []
  const log = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        const record = JSON.parse(line) as { msg: string; err?: { message: string } }
        records.push(record)
        lines.push(record.msg)
      }
    }
  )
  const through = createRedis({ url: `redis://127.0.0.1:${proxy.port}`, keyPrefix })
  const direct = createRedis({ url: testRedisUrl, keyPrefix })
  // Another deployment sharing the Redis server, under its own key prefix.
  const apart = createRedis({ url: testRedisUrl, keyPrefix: `${keyPrefix}apart:` })
  const [here, there, elsewhere] = [
    new RedisEventBus(through, log),
    new RedisEventBus(direct, log),
    new RedisEventBus(apart, log)
  ]
  t.teardown(async () => {
    await Promise.all([here.close(), there.close(), elsewhere.close()])
    through.disconnect()
    direct.disconnect()
    apart.disconnect()
  })
  t.same(await Promise.all([here.subscribed, there.subscribed, elsewhere.subscribed]), [true, true, true])
  const heard = { here: [] as number[], there: [] as number[], elsewhere: [] as number[] }
  here.subscribe((event) => event.type === 'delete' && heard.here.push(event.id))
  there.subscribe((event) => event.type === 'delete' && heard.there.push(event.id))
  elsewhere.subscribe((event) => event.type === 'delete' && heard.elsewhere.push(event.id))
  here.publish({ type: 'delete', id: 1, author_id: 1 })
  t.ok(await until(() => heard.here.includes(1) && heard.there.includes(1)), 'both instances, the publisher too')
  await sleep(100)
  t.same(heard.elsewhere, [], 'not another deployment’s instances')
  t.same(lines, [], 'nothing to log while Redis answers')

  await proxy.cut()
  await until(() => through.status !== 'ready')
  here.publish({ type: 'delete', id: 2, author_id: 1 })
  here.publish({ type: 'delete', id: 3, author_id: 1 })
  t.same(heard.here.slice(1), [2, 3], 'this instance’s streams still get events')
  await sleep(100)
  t.same(heard.there, [1], 'the other instance could not hear them')
  t.equal(lines.filter((line) => line.startsWith('live events: Redis does not answer')).length, 1, 'logged once')
  t.match(
    records.find((record) => record.msg.startsWith('live events: Redis does not answer')),
    { err: { message: /^Redis is / } },
    'with the client’s state'
  )

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
  here.publish({ type: 'delete', id: ++next, author_id: 1 })
  t.ok(await until(() => heard.there.includes(next)))
  t.same(
    lines.filter((line) => line.startsWith('live events: Redis answers again')),
    ['live events: Redis answers again, events reach every instance'],
    'logged once'
  )
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
  bus.subscribe((event) => event.type === 'delete' && heard.push(event.id))
  await bus.close()
  bus.publish({ type: 'delete', id: 9, author_id: 1 })
  t.same(heard, [7], 'a closed bus reaches no listener')
})
