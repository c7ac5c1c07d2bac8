// kill -9 during a write load, celebrities included, then restart: every acknowledged write is there,
// nothing is half-written, and once fan-out drains every timeline is the follow graph's answer.
import t from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import { ConsistencyDao, noViolations } from '../consistency.ts'
import { createPool } from '../../model/database.ts'
import { testDatabaseUrl } from '../helper.ts'
import { postJson, startServer } from '../../scripts/support/processes.ts'

// Short leases, so the restarted server takes over what the killed one had claimed within seconds.
const serverEnv = { FANOUT_LEASE_MS: '2000', FANOUT_POLL_MS: '50' }
/** Followers of the celebrity: several chunks per tweet at a chunk size of 500. */
const celebrityFollowers = 2_500

t.test('a server killed with SIGKILL mid-write loses nothing it acknowledged', async (t) => {
  const databaseUrl = await testDatabaseUrl(t)
  const pool = createPool(databaseUrl)
  t.teardown(() => pool.end())
  const first = await startServer({ env: { DATABASE_URL: databaseUrl, FANOUT_CHUNK_SIZE: '500', ...serverEnv } })
  t.teardown(() => first.child.kill('SIGKILL'))

  const users: { id: number; token: string }[] = []
  for (let i = 0; i < 6; i++) {
    const email = `crash${i}@example.com`
    const signUp = await postJson(`${first.url}/sign-up`, {
      name: `user${i}`,
      email,
      password: 'password123',
      profile: ''
    })
    if (signUp.status !== 200) throw new Error(`sign-up answered ${signUp.status}: ${await signUp.text()}`)
    const login = await postJson(`${first.url}/login`, { email, password: 'password123' })
    if (login.status !== 200) throw new Error(`login answered ${login.status}: ${await login.text()}`)
    const { user_id, access_token } = (await login.json()) as { user_id: number; access_token: string }
    users.push({ id: user_id, token: access_token })
  }
  for (const a of users) {
    for (const b of users) if (a !== b) await postJson(`${first.url}/follow`, { follow: b.id }, a.token)
  }
  // users[2] becomes a celebrity: followers added in bulk, as an import would (counters kept right).
  const celebrity = users[2].id
  await pool.query('INSERT INTO users (name, username, email, profile, hashed_password) VALUES ?', [
    Array.from({ length: celebrityFollowers }, (_, i) => [`fan${i}`, `fan${i}`, `fan${i}@example.com`, '', 'x'])
  ])
  await pool.query(
    `INSERT INTO users_follow_list (user_id, follow_user_id) SELECT id, ? FROM users WHERE email LIKE 'fan%@example.com'`,
    [celebrity]
  )
  await pool.query(`UPDATE users SET followers_count = followers_count + ? WHERE id = ?`, [
    celebrityFollowers,
    celebrity
  ])
  await pool.query(`UPDATE users SET following_count = 1 WHERE email LIKE 'fan%@example.com'`)

  const acknowledged = new Map<number, string>()
  const authors = new Map<number, number>()
  let stop = false
  // Every other tweet replies to the newest acknowledged one, so the kill can land in a reply's count too.
  let newestAcknowledged: number | undefined
  const writer = async (n: number) => {
    const user = users[n % users.length]
    for (let i = 0; !stop; i++) {
      const text = `writer ${n} tweet ${i}`
      try {
        const inReplyTo = i % 2 ? newestAcknowledged : undefined
        const res = await postJson(`${first.url}/tweet`, { tweet: text, in_reply_to: inReplyTo }, user.token)
        if (res.ok) {
          const { id } = (await res.json()) as { id: number }
          acknowledged.set(id, text)
          authors.set(id, user.id)
          newestAcknowledged = id
        }
      } catch {
        return // the server is gone
      }
    }
  }
  // Follows and unfollows run alongside, so the kill can land in any multi-step write.
  const follower = async () => {
    for (let i = 0; !stop; i++) {
      try {
        await postJson(
          `${first.url}/${i % 2 ? 'follow' : 'unfollow'}`,
          { [i % 2 ? 'follow' : 'unfollow']: users[1].id },
          users[0].token
        )
      } catch {
        return
      }
    }
  }
  // Retweets and their undoing too (by followees of everyone but the fans), so the kill can land in a
  // retweet's count, its fan-out or the restore after an undo.
  const retweeter = async (user: { token: string }) => {
    for (let i = 0; !stop; i++) {
      try {
        if (newestAcknowledged === undefined) {
          await new Promise((resolve) => setTimeout(resolve, 10))
          continue
        }
        const method = i % 3 === 2 ? 'DELETE' : 'PUT'
        await fetch(`${first.url}/tweet/${newestAcknowledged}/retweet`, {
          method,
          headers: { authorization: user.token }
        })
      } catch {
        return
      }
    }
  }
  const writers = [
    ...Array.from({ length: 12 }, (_, n) => writer(n)),
    follower(),
    retweeter(users[3]),
    retweeter(users[5])
  ]
  const started = Date.now()
  while (acknowledged.size < 150) await new Promise((r) => setTimeout(r, 20))
  t.comment(`150 acknowledged after ${Date.now() - started} ms`)
  first.child.kill('SIGKILL')
  t.equal(await first.exited, 'SIGKILL', 'the server died of the kill, not of something before it')
  stop = true
  await Promise.all(writers)
  t.comment(`${acknowledged.size} tweets were acknowledged before the kill`)

  const second = await startServer({ env: { DATABASE_URL: databaseUrl, ...serverEnv } })
  t.teardown(async () => {
    second.child.kill('SIGTERM')
    await second.exited
  })
  const missing: string[] = []
  for (const [id, text] of acknowledged) {
    const res = await whenServed(() => fetch(`${second.url}/tweet/${id}`))
    if (res.status !== 200) missing.push(`${id}: ${res.status}`)
    else if (((await res.json()) as { tweet: string }).tweet !== text) missing.push(`${id}: another text`)
  }
  t.same(missing, [], 'every acknowledged tweet survived the crash')

  const celebrityTweets = [...acknowledged.keys()].filter((id) => authors.get(id) === celebrity)
  t.ok(celebrityTweets.length > 0, `${celebrityTweets.length} celebrity tweets were acknowledged`)

  // The restarted server's workers finish the fan-out, the killed server's claims included once their
  // leases expire. Bounded by the test's timeout.
  for (;;) {
    const ready = (await (await fetch(`${second.url}/health/ready`)).json()) as { fanout?: { pending: number } }
    if (ready.fanout?.pending === 0) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  const [[{ replies }]] = await pool.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS replies FROM tweets WHERE in_reply_to IS NOT NULL'
  )
  t.ok(Number(replies) > 0, `${replies} of the stored tweets are replies`)
  const [[{ retweets }]] = await pool.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS retweets FROM tweets WHERE retweet_of IS NOT NULL'
  )
  t.ok(Number(retweets) > 0, `${retweets} retweets are stored`)
  t.same(await new ConsistencyDao(pool).violations(), noViolations, 'no half-written state, no missing or extra copies')

  // Through the API: sampled followers' first pages equal the follow graph's answer (the celebrity's
  // newest stored tweets: the kill may have cut off the answer to a committed one), each tweet once.
  const [fans] = await pool.query<RowDataPacket[]>(
    `SELECT id FROM users WHERE email LIKE 'fan%@example.com' ORDER BY RAND() LIMIT 5`
  )
  const [newest] = await pool.query<RowDataPacket[]>(
    'SELECT id FROM tweets WHERE user_id = ? ORDER BY id DESC LIMIT 20',
    [celebrity]
  )
  const expected = newest.map((row) => row.id as number)
  t.equal(fans.length, 5, 'five fans are sampled')
  // At least the acknowledged ones: the kill may have cut off the answers to some committed tweets.
  t.ok(expected.length >= Math.min(20, celebrityTweets.length), `${expected.length} celebrity tweets to find`)
  for (const { id } of fans) {
    const res = await fetch(`${second.url}/timeline/${id}?limit=20`)
    const ids = ((await res.json()) as { timeline: { id: number }[] }).timeline.map((item) => item.id)
    t.same(ids, expected, `fan ${id}: the celebrity's newest acknowledged tweets, each once`)
  }
})

/**
 * The answer of a read, asked again while the server sheds load (503: a busy machine, a restarted server
 * catching up on fan-out): what is checked is the data, not how busy the machine was.
 */
async function whenServed(read: () => Promise<Response>): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    const res = await read()
    if (res.status !== 503 || attempt === 40) return res
    await res.body?.cancel()
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}
