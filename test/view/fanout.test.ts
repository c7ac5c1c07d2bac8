// Fan-out behind POST /tweet, through the whole app: the background workers deliver on their own, and
// /health/ready reports the backlog.
import t from 'tap'
import { buildTestApp, signUpAndLogin } from '../helper.ts'

t.test('with workers running, a follower gets the tweet without anyone draining', async (t) => {
  const app = await buildTestApp(t, { FANOUT_WORKERS: '2', FANOUT_POLL_MS: '50' })
  const author = await signUpAndLogin(app, 'Author')
  const fans = [await signUpAndLogin(app, 'Fan'), await signUpAndLogin(app, 'Fan')]
  for (const fan of fans) {
    await app.inject({
      method: 'POST',
      url: '/follow',
      headers: { authorization: fan.token },
      payload: { follow: author.id }
    })
  }
  const posted = await app.inject({
    method: 'POST',
    url: '/tweet',
    headers: { authorization: author.token },
    payload: { tweet: 'to my fans' }
  })
  t.equal(posted.statusCode, 200)
  const id = posted.json().id
  for (const fan of fans) {
    // Bounded by the test's timeout, not by a timed assertion.
    for (;;) {
      const timeline = (await app.inject({ url: `/timeline/${fan.id}` })).json().timeline as { id: number }[]
      if (timeline.some((item) => item.id === id)) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    t.pass(`fan ${fan.id} has it`)
  }
  t.match((await app.inject({ url: '/health/ready' })).json(), { fanout: { pending: 0 } })
})

t.test('GET /health/ready reports pending fan-out and its age until it is done', async (t) => {
  // Every poll asks the database, so each answer shows the outbox as it is now.
  const app = await buildTestApp(t, { READY_CACHE_MS: '0' })
  const author = await signUpAndLogin(app, 'Author')
  const fan = await signUpAndLogin(app, 'Fan')
  await app.inject({
    method: 'POST',
    url: '/follow',
    headers: { authorization: fan.token },
    payload: { follow: author.id }
  })
  const lonely = await signUpAndLogin(app, 'Lonely')
  await app.inject({
    method: 'POST',
    url: '/tweet',
    headers: { authorization: lonely.token },
    payload: { tweet: 'nobody listens' }
  })
  t.same(
    (await app.inject({ url: '/health/ready' })).json().fanout,
    { pending: 0, oldest_pending_seconds: 0 },
    'no followers, nothing to fan out'
  )
  await app.inject({
    method: 'POST',
    url: '/tweet',
    headers: { authorization: author.token },
    payload: { tweet: 'one' }
  })
  await app.inject({
    method: 'POST',
    url: '/tweet',
    headers: { authorization: author.token },
    payload: { tweet: 'two' }
  })
  const ready = await app.inject({ url: '/health/ready' })
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { status: 'ready', fanout: { pending: 2, oldest_pending_seconds: Number } })
  t.equal((await app.inject({ url: `/timeline/${fan.id}` })).json().timeline.length, 0)
  await app.drainFanout()
  t.same((await app.inject({ url: '/health/ready' })).json().fanout, { pending: 0, oldest_pending_seconds: 0 })
  t.same(
    (await app.inject({ url: `/timeline/${fan.id}` })).json().timeline.map((item: { tweet: string }) => item.tweet),
    ['two', 'one']
  )
})
