// Write-path measurements beyond req/s: how long a new tweet takes to reach a follower's timeline
// (fan-out lag), how fast the backlog drains, and whether timelines equal the follow graph afterwards.
import type { Pool, RowDataPacket } from 'mysql2/promise'
import { percentile } from './load.ts'

export interface LagSample {
  /** Milliseconds from sending the POST until the tweet is on the follower's timeline; NaN: never seen. */
  lags: number[]
  p50: number
  p99: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Posts `count` tweets as `token`'s user, one every `spacingMs`, and after each polls `follower`'s
 * timeline until the tweet is there (`?before=<id + 1>&limit=1` answers it exactly, however many newer
 * tweets arrive meanwhile). Gives up on a tweet after `giveUpMs`.
 */
export async function fanoutLag(
  origin: string,
  token: string,
  follower: number,
  count: number,
  spacingMs: number,
  giveUpMs = 60_000
): Promise<LagSample> {
  const lags: number[] = []
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    const res = await fetch(`${origin}/tweet`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ tweet: `Lag probe ${i}` })
    })
    if (!res.ok) {
      lags.push(Number.NaN)
      continue
    }
    const { id } = (await res.json()) as { id: number }
    for (;;) {
      const page = await fetch(`${origin}/timeline/${follower}?limit=1&before=${id + 1}`)
      const items = ((await page.json()) as { timeline: { id: number }[] }).timeline
      if (items[0]?.id === id) {
        lags.push(performance.now() - started)
        break
      }
      if (performance.now() - started > giveUpMs) {
        lags.push(Number.NaN)
        break
      }
      await sleep(5)
    }
    await sleep(spacingMs)
  }
  const seen = lags.filter((lag) => !Number.isNaN(lag)).sort((a, b) => a - b)
  return { lags, p50: percentile(seen, 50), p99: percentile(seen, 99) }
}

export interface Drain {
  /** Tweets and timeline rows pending when the load stopped. */
  tweets: number
  rows: number
  /** Seconds until the outbox was empty, or until `limitSeconds` if it was not. */
  seconds: number
  drained: boolean
  /** Timeline rows copied per second over that time. */
  rowsPerSecond: number
}

async function pendingWork(pool: Pool): Promise<{ tweets: number; rows: number }> {
  // Followers still to copy: the author's follower count for an untouched row, fewer for one in progress.
  const [[row]] = await pool.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS tweets,
            COALESCE(SUM(IF(o.done_through = 0, u.followers_count,
              (SELECT COUNT(*) FROM users_follow_list f WHERE f.follow_user_id = o.author_id AND f.user_id > o.done_through))), 0)
              AS \`rows\`
       FROM fanout_outbox o JOIN users u ON u.id = o.author_id`
  )
  return { tweets: Number(row.tweets), rows: Number(row.rows) }
}

/** Watches the backlog the load left until it is empty or `limitSeconds` have passed. */
export async function measureDrain(pool: Pool, limitSeconds: number): Promise<Drain> {
  const start = await pendingWork(pool)
  const started = performance.now()
  let left = start
  while (left.tweets > 0 && performance.now() - started < limitSeconds * 1000) {
    await sleep(250)
    const [[row]] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM fanout_outbox')
    if (Number(row.n) === 0) left = { tweets: 0, rows: 0 }
    else if (performance.now() - started >= limitSeconds * 1000) left = await pendingWork(pool)
  }
  const seconds = (performance.now() - started) / 1000
  const copied = start.rows - left.rows
  return {
    tweets: start.tweets,
    rows: start.rows,
    seconds,
    drained: left.tweets === 0,
    rowsPerSecond: copied / seconds
  }
}

/**
 * Compares `sample` users' first timeline pages (from the app) with the follow graph's answer (their
 * own and their followees' newest tweets, straight from the tables). Returns the users that differ.
 */
export async function timelinesEqualGraph(pool: Pool, origin: string, users: number[]): Promise<number[]> {
  const differing: number[] = []
  for (const user of users) {
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT t.id FROM tweets t
        WHERE t.user_id = ? OR t.user_id IN (SELECT follow_user_id FROM users_follow_list WHERE user_id = ?)
        ORDER BY t.id DESC LIMIT 20`,
      [user, user]
    )
    const res = await fetch(`${origin}/timeline/${user}?limit=20`)
    const ids = ((await res.json()) as { timeline: { id: number }[] }).timeline.map((item) => item.id)
    if (JSON.stringify(ids) !== JSON.stringify(rows.map((row) => Number(row.id)))) differing.push(user)
  }
  return differing
}
