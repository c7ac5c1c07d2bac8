// Fan-out behind the request: claims outbox rows under a lease and copies each tweet into its author's
// followers' timelines in bounded chunks, one short transaction per chunk.
import { randomBytes } from 'node:crypto'
import type { Transactor } from '../model/database.ts'
import type { FanoutDao, OutboxRow } from '../model/fanout-dao.ts'
import type { TimelineDao } from '../model/timeline-dao.ts'
import { noEvents, type EventPublisher } from './events.ts'

export interface FanoutSettings {
  /** Followers copied per transaction: bounds every lock and statement whatever the follower count. */
  chunkSize: number
  /** How long a claim lasts without progress; a dead worker's rows are taken over after it. */
  leaseMs: number
  /** Rows claimed at once by one worker. */
  claimBatch: number
}

export interface Backlog {
  pending: number
  /** Age of the oldest pending row, 0 when there is none. */
  oldest_pending_seconds: number
}

export interface FanoutOutcome {
  /** Timeline rows written. */
  copied: number
  /** False when the lease was lost (expired and taken over, or the tweet was deleted) before the end. */
  completed: boolean
}

/** Thrown inside a chunk's transaction to roll it back when the lease turns out to be gone. */
class LeaseLost extends Error {}

export class FanoutService {
  /** Identifies this worker's leases; unique per service instance, so per process. */
  readonly workerId = `${process.pid}-${randomBytes(6).toString('hex')}`

  constructor(
    private readonly transactor: Transactor,
    private readonly fanoutDao: FanoutDao,
    private readonly timelineDao: TimelineDao,
    private readonly settings: FanoutSettings,
    private readonly events: EventPublisher = noEvents
  ) {}

  /** Leases up to `limit` free rows (none held by a live lease) to this worker. */
  async claim(limit = this.settings.claimBatch): Promise<OutboxRow[]> {
    return this.transactor.run(async (connection) => {
      const rows = await this.fanoutDao.claimable(connection, limit)
      await this.fanoutDao.lease(
        connection,
        rows.map((row) => row.id),
        this.workerId,
        this.settings.leaseMs
      )
      return rows
    })
  }

  /**
   * Copies one claimed tweet to every follower (or, for a 'restore' row, gives them back what an undone
   * retweet took), chunk by chunk from where the row says it stopped. Each chunk commits its copies, its
   * progress and a renewed lease together; copies are idempotent, so a chunk replayed after a crash or a
   * lost lease writes nothing twice.
   */
  async fanOut(row: OutboxRow): Promise<FanoutOutcome> {
    let after = row.done_through
    let copied = 0
    for (;;) {
      let chunk: { written: number; last: boolean; through: number }
      try {
        chunk = await this.transactor.run(async (connection) => {
          const followers = await this.fanoutDao.followerChunk(
            connection,
            row.author_id,
            after,
            this.settings.chunkSize
          )
          const written =
            row.kind === 'restore'
              ? await this.timelineDao.restoreForOwners(connection, followers, row.tweet_id)
              : await this.timelineDao.addToTimelines(
                  connection,
                  row.tweet_id,
                  row.author_id,
                  followers,
                  row.original_id
                )
          const last = followers.length < this.settings.chunkSize
          const through = followers.at(-1) ?? after
          const held = last
            ? await this.fanoutDao.finish(connection, row.id, this.workerId)
            : await this.fanoutDao.advance(connection, row.id, this.workerId, through, this.settings.leaseMs)
          if (!held) throw new LeaseLost()
          return { written, last, through }
        })
      } catch (error) {
        if (error instanceof LeaseLost) return { copied, completed: false }
        throw error
      }
      copied += chunk.written
      // The followers of this chunk have it on their timelines now: their live streams may show it.
      if (row.kind !== 'restore' && chunk.written > 0) {
        this.events.publish({
          type: 'tweet',
          id: row.tweet_id,
          author_id: row.author_id,
          self: false,
          audience: { after, through: chunk.through }
        })
      }
      if (chunk.last) return { copied, completed: true }
      after = chunk.through
    }
  }

  /**
   * Claims a batch and works through it while `proceed()` holds; returns how many rows were claimed
   * (0: nothing to do). Rows not begun keep their lease until releaseClaims() or expiry.
   *
   * Most authors have few followers: their rows are grouped so that each group's followers fit one
   * chunk, and a group is copied by one statement and finished by another, in one transaction (a
   * round trip or two per tweet would cost the database more than the posts themselves). Rows of
   * authors with more followers than a chunk, or already begun, and restores go chunk by chunk (fanOut).
   */
  async runOnce(proceed: () => boolean = () => true): Promise<number> {
    const rows = await this.claim()
    const followers = await this.fanoutDao.followerCounts([...new Set(rows.map((row) => row.author_id))])
    const large: OutboxRow[] = []
    let group: number[] = []
    let groupFollowers = 0
    const groups: number[][] = []
    for (const row of rows) {
      const count = followers.get(row.author_id) ?? 0
      if (row.kind === 'restore' || row.done_through > 0 || count > this.settings.chunkSize) {
        large.push(row)
        continue
      }
      if (groupFollowers + count > this.settings.chunkSize) {
        groups.push(group)
        group = []
        groupFollowers = 0
      }
      group.push(row.id)
      groupFollowers += count
    }
    if (group.length > 0) groups.push(group)
    const byId = new Map(rows.map((row) => [row.id, row]))
    for (const ids of groups) {
      if (!proceed()) return rows.length
      await this.transactor.run(async (connection) => {
        await this.fanoutDao.copyToAllFollowers(connection, ids, this.workerId)
        await this.fanoutDao.finishMany(connection, ids, this.workerId)
      })
      for (const id of ids) {
        const row = byId.get(id)!
        this.events.publish({
          type: 'tweet',
          id: row.tweet_id,
          author_id: row.author_id,
          self: false,
          audience: 'followers'
        })
      }
    }
    for (const row of large) {
      if (!proceed()) break
      await this.fanOut(row)
    }
    return rows.length
  }

  /** Hands this worker's leases back, so a stopping process's rows are taken over at once. */
  async releaseClaims(): Promise<void> {
    await this.fanoutDao.release(this.workerId)
  }

  /** Works until the outbox is empty, rows leased to other workers included (tests, the crash check). */
  async drain(pollMs = 20): Promise<void> {
    for (;;) {
      if ((await this.runOnce()) > 0) continue
      if ((await this.backlog()).pending === 0) return
      await new Promise((resolve) => setTimeout(resolve, pollMs))
    }
  }

  async backlog(): Promise<Backlog> {
    const row = await this.fanoutDao.backlog()
    return { pending: row.pending, oldest_pending_seconds: Math.max(0, Math.round(row.oldest_age_ms / 100) / 10) }
  }
}
