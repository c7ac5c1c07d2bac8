// The follow graph: follow/unfollow (keeping counters and home timelines in step) and follow lists.
import type { Transactor } from '../model/database.ts'
import type { FollowDao } from '../model/follow-dao.ts'
import type { TimelineDao } from '../model/timeline-dao.ts'
import type { UserDao, UserSummaryRow } from '../model/user-dao.ts'
import { Invalid, NotFound } from './errors.ts'
import { pageOf, rowsToRead, type Page, type PageRequest } from './page.ts'
import type { Storage } from './storage/storage.ts'
import type { TimelineSettings } from './tweet-service.ts'

export interface UserSummary {
  id: number
  name: string
  username: string
  profile: string
  profile_picture: string | null
}

/** The one mapping of a user row to a summary: its picture key becomes a URL. */
export function toUserSummary(row: UserSummaryRow, storage: Storage): UserSummary {
  return {
    id: row.id,
    name: row.name,
    username: row.username,
    profile: row.profile,
    profile_picture: row.profile_picture === null ? null : storage.url(row.profile_picture)
  }
}

export interface FollowSettings extends TimelineSettings {
  /** How many of a followee's newest tweets are copied into the follower's timeline on follow. */
  timelineBackfill: number
}

export class FollowService {
  constructor(
    private readonly transactor: Transactor,
    private readonly followDao: FollowDao,
    private readonly timelineDao: TimelineDao,
    private readonly userDao: UserDao,
    private readonly storage: Storage,
    private readonly settings: FollowSettings
  ) {}

  /** Idempotent. Both users' rows are locked first: a tweet's fan-out by the followee waits for it. */
  async follow(userId: number, targetId: number): Promise<void> {
    if (userId === targetId) throw new Invalid('You cannot follow yourself', { field: 'follow' })
    await this.transactor.run(async (connection) => {
      const target = await this.userDao.lockPair(connection, userId, targetId)
      if (!target) throw new NotFound('User not found', { user_id: targetId })
      if (!(await this.followDao.follow(connection, userId, targetId))) return
      await this.followDao.addFollowCounts(connection, userId, targetId, 1)
      if (target.fanout === 'pull') {
        await this.followDao.addPulledFollow(connection, userId, targetId)
        return
      }
      if (target.followers_count + 1 > this.settings.fanoutMaxFollowers) {
        // From now on this account's followers read its tweets directly instead of receiving copies.
        await this.userDao.setFanout(connection, targetId, 'pull')
        await this.followDao.convertFollowersToPulled(connection, targetId)
        return
      }
      const gap = await this.timelineDao.backfill(connection, userId, targetId, this.settings.timelineBackfill)
      if (gap !== undefined) await this.timelineDao.addGap(connection, userId, targetId, gap)
    })
  }

  /** Idempotent. */
  async unfollow(userId: number, targetId: number): Promise<void> {
    if (userId === targetId) throw new Invalid('You cannot unfollow yourself', { field: 'unfollow' })
    await this.transactor.run(async (connection) => {
      const target = await this.userDao.lockPair(connection, userId, targetId)
      if (!target) throw new NotFound('User not found', { user_id: targetId })
      if (!(await this.followDao.unfollow(connection, userId, targetId))) return
      await this.followDao.addFollowCounts(connection, userId, targetId, -1)
      await this.followDao.removePulledFollow(connection, userId, targetId)
      // A tweet the account's entries showed may still have a place here (its author is followed, or
      // another followee retweeted it), which those entries had kept out: it comes back.
      const shown = await this.timelineDao.shownBy(connection, userId, targetId)
      await this.timelineDao.removeAuthor(connection, userId, targetId)
      await this.timelineDao.restoreForOwner(connection, userId, shown)
    })
  }

  async followers(userId: number, page: PageRequest): Promise<Page<UserSummary>> {
    return this.list(userId, page, (before, limit) => this.followDao.followers(userId, before, limit))
  }

  async following(userId: number, page: PageRequest): Promise<Page<UserSummary>> {
    return this.list(userId, page, (before, limit) => this.followDao.following(userId, before, limit))
  }

  private async list(
    userId: number,
    page: PageRequest,
    read: (before: number, limit: number) => Promise<UserSummaryRow[]>
  ): Promise<Page<UserSummary>> {
    const wanted = rowsToRead(page)
    const [exists, rows] = await Promise.all([
      this.userDao.exists(userId),
      read(page.before ?? Number.MAX_SAFE_INTEGER, wanted)
    ])
    if (!exists) throw new NotFound('User not found', { user_id: userId })
    const shown = pageOf(rows, page, (row) => row.id)
    return { ...shown, items: shown.items.map((row) => toUserSummary(row, this.storage)) }
  }
}
