// GET /stream over real connections: who may open one (token or one-time ticket, never a token in the URL),
// what arrives (tweets as the timeline shows them, deletes, notifications; none of what blocks and mutes
// hide), resuming with Last-Event-ID, the heartbeat, the per-user cap, a graceful stop, and events crossing
// instances through Redis.
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { createPool } from '../../model/database.ts'
import { appFor, signUpAndLogin, testConfig, testRedisEnv, type TestUser } from '../helper.ts'
import { SseClient } from '../../scripts/support/sse-client.ts'

interface Item {
  id: number
  tweet: string
  user: { id: number }
  retweeted_by: { id: number; retweet_id: number } | null
}

async function listening(t: Test, env: Record<string, string> = {}) {
  const config = await testConfig(t, { STREAM_HEARTBEAT: '1s', STREAM_MAX_PER_USER: '2', ...env })
  const app = await appFor(config)
  t.teardown(() => app.close())
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, base, config }
}

function helpers(t: Test, app: FastifyInstance, base: string) {
  const streams: SseClient[] = []
  t.teardown(() => streams.forEach((stream) => stream.close()))
  return {
    open: async (user: TestUser | undefined, path = '/stream', headers: Record<string, string> = {}) => {
      const stream = await SseClient.open(`${base}${path}`, {
        ...(user ? { authorization: user.token } : {}),
        ...headers
      })
      streams.push(stream)
      return stream
    },
    post: async (user: TestUser, tweet: string) =>
      (
        await app.inject({ method: 'POST', url: '/tweet', headers: { authorization: user.token }, payload: { tweet } })
      ).json().id as number,
    follow: (user: TestUser, other: TestUser) =>
      app.inject({
        method: 'POST',
        url: '/follow',
        headers: { authorization: user.token },
        payload: { follow: other.id }
      })
  }
}

t.test('who may open a stream', async (t) => {
  const { app, base, config } = await listening(t)
  const { open } = helpers(t, app, base)
  const user = await signUpAndLogin(app, 'Reader')

  t.test('nobody without a token or ticket: 401 JSON', async (t) => {
    const stream = await open(undefined)
    t.equal(stream.status, 401)
  })

  t.test('a token in the URL is refused: 400', async (t) => {
    t.equal((await open(undefined, `/stream?token=${user.token}`)).status, 400)
    t.equal((await open(undefined, `/stream?access_token=${user.token}`)).status, 400)
  })

  t.test('a ticket opens one stream, once; an expired one none', async (t) => {
    const issued = await app.inject({ method: 'POST', url: '/stream/ticket', headers: { authorization: user.token } })
    t.equal(issued.statusCode, 200)
    const { ticket, expires_in } = issued.json()
    t.equal(expires_in, 30)
    t.match(ticket, /^[A-Za-z0-9_-]{43}$/)
    const stream = await open(undefined, `/stream?ticket=${ticket}`)
    t.equal(stream.status, 200)
    t.ok(await stream.until((s) => s.events.some((e) => e.comment === 'heartbeat')), 'a heartbeat comes')
    stream.close()
    t.equal((await open(undefined, `/stream?ticket=${ticket}`)).status, 401, 'used already')
    t.equal((await open(undefined, '/stream?ticket=not-a-ticket')).status, 401)
    const late = (
      await app.inject({ method: 'POST', url: '/stream/ticket', headers: { authorization: user.token } })
    ).json().ticket
    const pool = createPool(config.databaseUrl)
    await pool.query('UPDATE stream_tickets SET expires_at = NOW(3) - INTERVAL 1 SECOND')
    await pool.end()
    t.equal((await open(undefined, `/stream?ticket=${late}`)).status, 401, 'expired')
    t.equal((await app.inject({ method: 'POST', url: '/stream/ticket' })).statusCode, 401, 'a ticket needs a token')
  })

  t.test('at most STREAM_MAX_PER_USER streams per user: 429 beyond', async (t) => {
    const [first, second] = [await open(user), await open(user)]
    t.same([first.status, second.status], [200, 200])
    const third = await open(user)
    t.equal(third.status, 429)
    first.close()
    await first.ended
    // The server notices the closed connection on its own time.
    let again = 429
    for (let i = 0; i < 50 && again === 429; i++) {
      const stream = await open(user)
      again = stream.status
      if (again === 429) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    t.equal(again, 200, 'a closed stream frees its place')
  })
})

t.test('what a stream receives', async (t) => {
  const { app, base } = await listening(t)
  const { open, post, follow } = helpers(t, app, base)
  const [reader, author, muted, blocker, other] = await Promise.all(
    ['Reader', 'Author', 'Muted', 'Blocker', 'Other'].map((name) => signUpAndLogin(app, name))
  )
  for (const followee of [author, muted, blocker]) await follow(reader, followee)
  await app.inject({ method: 'PUT', url: `/users/${muted.id}/mute`, headers: { authorization: reader.token } })
  await follow(blocker, reader)
  await app.inject({ method: 'PUT', url: `/users/${reader.id}/block`, headers: { authorization: blocker.token } })
  await app.drainFanout()
  const stream = await open(reader)
  const own = await open(author)

  t.test('a followee’s tweet, once fanned out, as GET /timeline shows it; the author’s own at once', async (t) => {
    const id = await post(author, 'fresh news')
    t.ok(await own.until((s) => s.data<Item>('tweet').some((item) => item.id === id)), 'the author sees it at once')
    await app.drainFanout()
    t.ok(await stream.until((s) => s.data<Item>('tweet').some((item) => item.id === id)))
    const event = stream.events.find((e) => e.event === 'tweet' && JSON.parse(e.data!).id === id)!
    t.equal(event.id, String(id), 'its id is the timeline cursor')
    const timeline = (await app.inject({ url: '/timeline', headers: { authorization: reader.token } })).json().timeline
    t.same(
      JSON.parse(event.data!),
      timeline.find((item: Item) => item.id === id),
      'the same body'
    )
  })

  t.test('a retweet arrives as the timeline shows it, with retweeted_by', async (t) => {
    const original = await post(other, 'worth repeating')
    const res = await app.inject({
      method: 'PUT',
      url: `/tweet/${original}/retweet`,
      headers: { authorization: author.token }
    })
    t.equal(res.statusCode, 200)
    await app.drainFanout()
    t.ok(
      await stream.until((s) =>
        s.data<Item>('tweet').some((item) => item.id === original && item.retweeted_by !== null)
      )
    )
    const event = stream.events.find((e) => e.event === 'tweet' && JSON.parse(e.data!).id === original)!
    const item = JSON.parse(event.data!) as Item
    t.equal(item.retweeted_by?.id, author.id)
    t.equal(event.id, String(item.retweeted_by?.retweet_id), 'the cursor is the retweet’s row')
  })

  t.test('a deleted tweet: a delete event', async (t) => {
    const id = await post(author, 'soon gone')
    await app.drainFanout()
    await app.inject({ method: 'DELETE', url: `/tweet/${id}`, headers: { authorization: author.token } })
    t.ok(await stream.until((s) => s.data<{ id: number }>('delete').some((e) => e.id === id)))
  })

  t.test('a notification, as GET /notifications gives it', async (t) => {
    await follow(other, reader)
    t.ok(await stream.until((s) => s.data('notification').length > 0))
    const [notification] = stream.data<{ type: string; account: { id: number } }>('notification')
    t.match(notification, { type: 'follow', account: { id: other.id } })
  })

  t.test('nothing from a muted account or across a block', async (t) => {
    const mutedTweet = await post(muted, 'you will not hear this')
    const blockedTweet = await post(blocker, 'nor this')
    const marker = await post(author, 'but this')
    await app.drainFanout()
    t.ok(await stream.until((s) => s.data<Item>('tweet').some((item) => item.id === marker)))
    const ids = stream.data<Item>('tweet').map((item) => item.id)
    t.notOk(ids.includes(mutedTweet))
    t.notOk(ids.includes(blockedTweet))
  })

  t.test('Last-Event-ID resumes after that cursor, oldest first', async (t) => {
    const last = await post(author, 'seen before leaving')
    await app.drainFanout()
    const missed = [await post(author, 'missed one'), await post(author, 'missed two')]
    await app.drainFanout()
    const resumed = await open(reader, '/stream', { 'last-event-id': String(last) })
    t.ok(await resumed.until((s) => s.data('tweet').length >= 2))
    t.same(
      resumed.data<Item>('tweet').map((item) => item.id),
      missed,
      'what came after, in order'
    )
    t.equal((await open(reader, '/stream', { 'last-event-id': 'abc' })).status, 400, 'a cursor is a number')
  })

  t.test('closing the app ends the streams', async (t) => {
    const closing = await open(other)
    t.equal(closing.status, 200)
    await app.close()
    await closing.ended
    t.pass('the stream ended')
  })
})

t.test('more missed than a resume sends: resync', async (t) => {
  const { app, base } = await listening(t, { STREAM_RESUME_LIMIT: '2' })
  const { open, post, follow } = helpers(t, app, base)
  const [reader, author] = [await signUpAndLogin(app, 'Reader'), await signUpAndLogin(app, 'Author')]
  await follow(reader, author)
  const first = await post(author, 'one')
  for (const text of ['two', 'three', 'four']) await post(author, text)
  await app.drainFanout()
  const stream = await open(reader, '/stream', { 'last-event-id': String(first) })
  t.ok(await stream.until((s) => s.data('resync').length === 1))
  t.equal(stream.data('tweet').length, 2, 'the limit, then resync')
})

t.test('through Redis, an event reaches a stream on another instance', async (t) => {
  const redis = testRedisEnv()
  const config = await testConfig(t, redis)
  const [a, b] = [await appFor(config), await appFor(config)]
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const baseA = await a.listen({ port: 0, host: '127.0.0.1' })
  const { open } = helpers(t, a, baseA)
  const [reader, author] = [await signUpAndLogin(b, 'Reader'), await signUpAndLogin(b, 'Author')]
  await b.inject({
    method: 'POST',
    url: '/follow',
    headers: { authorization: reader.token },
    payload: { follow: author.id }
  })
  const stream = await open(reader)
  t.equal(stream.status, 200)
  const started = Date.now()
  const id = (
    await b.inject({
      method: 'POST',
      url: '/tweet',
      headers: { authorization: author.token },
      payload: { tweet: 'from B' }
    })
  ).json().id
  await b.drainFanout()
  t.ok(await stream.until((s) => s.data<Item>('tweet').some((item) => item.id === id), 3_000), 'posted on B, seen on A')
  t.ok(Date.now() - started < 3_000)
})
