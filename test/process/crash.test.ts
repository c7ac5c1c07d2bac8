// kill -9 during a write load, then restart: every acknowledged write is there and nothing is half-written.
import t from 'tap'
import { ConsistencyDao } from '../../model/consistency-dao.ts'
import { createPool } from '../../model/database.ts'
import { testDatabaseUrl } from '../helper.ts'
import { postJson, startServer } from './server.ts'

t.test('a server killed with SIGKILL mid-write loses nothing it acknowledged', async (t) => {
  const databaseUrl = await testDatabaseUrl(t)
  const first = await startServer({ DATABASE_URL: databaseUrl })
  t.teardown(() => first.child.kill('SIGKILL'))

  const users: { id: number; token: string }[] = []
  for (let i = 0; i < 6; i++) {
    const email = `crash${i}@example.com`
    await postJson(`${first.url}/sign-up`, { name: `user${i}`, email, password: 'password123', profile: '' })
    const login = await postJson(`${first.url}/login`, { email, password: 'password123' })
    const { user_id, access_token } = (await login.json()) as { user_id: number; access_token: string }
    users.push({ id: user_id, token: access_token })
  }
  for (const a of users) {
    for (const b of users) if (a !== b) await postJson(`${first.url}/follow`, { follow: b.id }, a.token)
  }

  const acknowledged = new Map<number, string>()
  let stop = false
  const writer = async (n: number) => {
    const user = users[n % users.length]
    for (let i = 0; !stop; i++) {
      const text = `writer ${n} tweet ${i}`
      try {
        const res = await postJson(`${first.url}/tweet`, { tweet: text }, user.token)
        if (res.ok) acknowledged.set(((await res.json()) as { id: number }).id, text)
      } catch {
        return // the server is gone
      }
    }
  }
  // Follows and unfollows run alongside, so the kill can land in any multi-step write.
  const follower = async () => {
    for (let i = 0; !stop; i++) {
      try {
        await postJson(`${first.url}/${i % 2 ? 'follow' : 'unfollow'}`, { [i % 2 ? 'follow' : 'unfollow']: users[1].id }, users[0].token)
      } catch {
        return
      }
    }
  }
  const writers = [...Array.from({ length: 12 }, (_, n) => writer(n)), follower()]
  const started = Date.now()
  while (acknowledged.size < 150) await new Promise((r) => setTimeout(r, 20))
  t.comment(`150 acknowledged after ${Date.now() - started} ms`)
  first.child.kill('SIGKILL')
  await first.exited
  stop = true
  await Promise.all(writers)
  t.ok(acknowledged.size >= 150, `${acknowledged.size} tweets were acknowledged before the kill`)

  const second = await startServer({ DATABASE_URL: databaseUrl })
  t.teardown(async () => {
    second.child.kill('SIGTERM')
    await second.exited
  })
  const missing: number[] = []
  for (const [id, text] of acknowledged) {
    const res = await fetch(`${second.url}/tweet/${id}`)
    if (res.status !== 200 || ((await res.json()) as { tweet: string }).tweet !== text) missing.push(id)
  }
  t.same(missing, [], 'every acknowledged tweet survived the crash')

  const pool = createPool(databaseUrl)
  t.teardown(() => pool.end())
  t.same(await new ConsistencyDao(pool).violations(), {
    tweets_count_mismatch: 0,
    follow_counts_mismatch: 0,
    tweets_missing_from_author_timeline: 0,
    pushed_tweets_missing_from_followers: 0,
    pulled_follows_mismatch: 0
  }, 'no half-written state')
})
