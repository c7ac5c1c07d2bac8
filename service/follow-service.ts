// The follow graph: follow/unfollow (keeping counters and home timelines in step), blocks and mutes, and
// the lists of both.
import type { PoolConnection } from 'mysql2/promise'
import type { Transactor } from '../model/database.ts'
import type { BlockDao, Restriction } from '../model/block-dao.ts'
import type { FollowDao, RelationshipRow } from '../model/follow-dao.ts'
import type { NotificationDao } from '../model/notification-dao.ts'
import type { TimelineDao } from '../model/timeline-dao.ts'
import type { UserDao, UserSummaryRow } from '../model/user-dao.ts'
import { Forbidden, Invalid, NotFound } from './errors.ts'
import { pageOf, rowsToRead, type Page, type PageRequest } from './page.ts'
import type { Storage } from './storage/storage.ts'
import type { TimelineSettings } from './tweet-service.ts'
import { noEvents, type EventPublisher } from './events.ts'

export interface UserSummary {
  id: number
  name: string
  username: string
  profile: string
  profile_picture: string | null
}

/** A user on a list of people shown to someone: with whether that viewer follows them. */
export interface ListedUser extends UserSummary {
  /** Whether the viewer follows the user; false for an anonymous viewer. */
  following: boolean
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

/** How the caller stands towards another user (`GET /users/:user_id`, block and mute answers). */
export type Relationship = RelationshipRow

export interface FollowSettings extends TimelineSettings {
  /** How many of a followee's newest tweets are copied into the follower's timeline on follow. */
  timelineBackfill: number
}

export class FollowService {
  constructor(
    private readonly transactor: Transactor,
    private readonly followDao: FollowDao,
    private readonly blockDao: BlockDao,
    private readonly notificationDao: NotificationDao,
    private readonly timelineDao: TimelineDao,
    private readonly userDao: UserDao,
    private readonly storage: Storage,
    private readonly settings: FollowSettings,
    private readonly events: EventPublisher = noEvents
  ) {}

  /** Idempotent. Both users' rows are locked first: a tweet's fan-out by the followee waits for it. */
  async follow(userId: number, targetId: number): Promise<void> {
    if (userId === targetId) throw new Invalid('You cannot follow yourself', { field: 'follow' })
    const followed = await this.transactor.run(async (connection) => {
      const target = await this.userDao.lockPair(connection, userId, targetId)
      if (!target) throw new NotFound('User not found', { user_id: targetId })
      // Under both users' row locks, as a block takes them: a block and a follow never cross.
      if (await this.blockDao.blockedEitherWay(connection, userId, targetId)) {
        throw new Forbidden('You cannot follow this user: one of you blocks the other', { user_id: targetId })
      }
      if (!(await this.followDao.follow(connection, userId, targetId))) return false
      await this.followDao.addFollowCounts(connection, userId, targetId, 1)
      await this.notificationDao.add(connection, targetId, 'follow', userId, null)
      if (target.fanout === 'pull') {
        await this.followDao.addPulledFollow(connection, userId, targetId)
        return true
      }
      if (target.followers_count + 1 > this.settings.fanoutMaxFollowers) {
        // From now on this account's followers read its tweets directly instead of receiving copies.
        await this.userDao.setFanout(connection, targetId, 'pull')
        await this.followDao.convertFollowersToPulled(connection, targetId)
        return true
      }
      const gap = await this.timelineDao.backfill(connection, userId, targetId, this.settings.timelineBackfill)
      if (gap !== undefined) await this.timelineDao.addGap(connection, userId, targetId, gap)
      return true
    })
    if (followed) this.events.publish({ type: 'notification', user_ids: [targetId] })
  }

  /** Idempotent. */
  async unfollow(userId: number, targetId: number): Promise<void> {
    if (userId === targetId) throw new Invalid('You cannot unfollow yourself', { field: 'unfollow' })
    await this.transactor.run(async (connection) => {
      const target = await this.userDao.lockPair(connection, userId, targetId)
      if (!target) throw new NotFound('User not found', { user_id: targetId })
      await this.removeFollow(connection, userId, targetId)
    })
  }

  /**
   * Idempotent. Removes the follows in both directions (counters and home timelines corrected, as by
   * unfollow) in the same transaction, under both users' row locks: from its commit neither can follow
   * the other, and a fan-out chunk copying between them either committed first (its copies are removed
   * here) or reads the follow list after it (and finds no follow).
   */
  async block(userId: number, targetId: number): Promise<Relationship> {
    return this.restrict('block', userId, targetId, async (connection) => {
      await this.removeFollow(connection, userId, targetId)
      await this.removeFollow(connection, targetId, userId)
      await this.notificationDao.removeBetween(connection, userId, targetId)
    })
  }

  /** Idempotent; the follows a block removed stay removed. */
  async unblock(userId: number, targetId: number): Promise<Relationship> {
    return this.unrestrict('block', userId, targetId)
  }

  /** Idempotent. One way: the muted account notices nothing. */
  async mute(userId: number, targetId: number): Promise<Relationship> {
    // Their notifications stop: those already there go too.
    return this.restrict('mute', userId, targetId, (connection) =>
      this.notificationDao.removeFrom(connection, userId, targetId)
    )
  }

  /** Idempotent. */
  async unmute(userId: number, targetId: number): Promise<Relationship> {
    return this.unrestrict('mute', userId, targetId)
  }

  /** How userId stands towards targetId, read from the primary; NotFound for an unknown targetId. */
  async relationship(userId: number, targetId: number): Promise<Relationship> {
    const [exists, relationship] = await Promise.all([
      this.userDao.exists(targetId),
      this.followDao.relationship(this.transactor.autocommit, userId, targetId)
    ])
    if (!exists) throw new NotFound('User not found', { user_id: targetId })
    return relationship
  }

  /** The accounts userId blocks, highest id first. */
  async blocks(userId: number, page: PageRequest): Promise<Page<UserSummary>> {
    return this.list(userId, page, (before, limit) => this.blockDao.list('block', userId, before, limit))
  }

  /** The accounts userId mutes, highest id first. */
  async mutes(userId: number, page: PageRequest): Promise<Page<UserSummary>> {
    return this.list(userId, page, (before, limit) => this.blockDao.list('mute', userId, before, limit))
  }

  private async restrict(
    kind: Restriction,
    userId: number,
    targetId: number,
    then?: (connection: PoolConnection) => Promise<void>
  ): Promise<Relationship> {
    if (userId === targetId) throw new Invalid(`You cannot ${kind} yourself`, { field: kind })
    return this.transactor.run(async (connection) => {
      if (!(await this.userDao.lockPair(connection, userId, targetId))) {
        throw new NotFound('User not found', { user_id: targetId })
      }
      if ((await this.blockDao.add(connection, kind, userId, targetId)) && then) await then(connection)
      return this.followDao.relationship(connection, userId, targetId)
    })
  }

  private async unrestrict(kind: Restriction, userId: number, targetId: number): Promise<Relationship> {
    if (userId === targetId) throw new Invalid(`You cannot un${kind} yourself`, { field: kind })
    return this.transactor.run(async (connection) => {
      if (!(await this.userDao.lockPair(connection, userId, targetId))) {
        throw new NotFound('User not found', { user_id: targetId })
      }
      await this.blockDao.remove(connection, kind, userId, targetId)
      return this.followDao.relationship(connection, userId, targetId)
    })
  }

  /**
   * Part of erasing a deleted account (service/account-eraser.ts): undoes the follows between userId and up
   * to `limit` of the users it follows or is followed by, both ways, as a block does, each pair in its own
   * short transaction. Answers how many users it handled (0: none left).
   */
  async severFollows(userId: number, limit: number): Promise<number> {
    const counterparts = await this.followDao.counterparts(this.transactor.autocommit, userId, limit)
    for (const otherId of counterparts) {
      await this.transactor.run(async (connection) => {
        if (!(await this.userDao.lockPair(connection, userId, otherId, true))) return
        await this.removeFollow(connection, userId, otherId)
        await this.removeFollow(connection, otherId, userId)
      })
    }
    return counterparts.length
  }

  /** Removes userId's follow of targetId, if any, with what it brought: counters, pulls, timeline entries. */
  private async removeFollow(connection: PoolConnection, userId: number, targetId: number): Promise<void> {
    if (!(await this.followDao.unfollow(connection, userId, targetId))) return
    await this.followDao.addFollowCounts(connection, userId, targetId, -1)
    await this.notificationDao.removeFollow(connection, targetId, userId)
    await this.followDao.removePulledFollow(connection, userId, targetId)
    // A tweet the account's entries showed may still have a place here (its author is followed, or
    // another followee retweeted it), which those entries had kept out: it comes back.
    const shown = await this.timelineDao.shownBy(connection, userId, targetId)
    await this.timelineDao.removeAuthor(connection, userId, targetId)
    await this.timelineDao.restoreForOwner(connection, userId, shown)
  }

  /** userId's followers as viewerId is shown them (see shownTo). */
  async followers(userId: number, page: PageRequest, viewerId?: number): Promise<Page<ListedUser>> {
    const users = await this.list(userId, page, (before, limit) => this.followDao.followers(userId, before, limit))
    return { ...users, items: await this.shownTo(viewerId, users.items) }
  }

  async following(userId: number, page: PageRequest, viewerId?: number): Promise<Page<ListedUser>> {
    const users = await this.list(userId, page, (before, limit) => this.followDao.following(userId, before, limit))
    return { ...users, items: await this.shownTo(viewerId, users.items) }
  }

  /**
   * People as viewerId is shown them: anyone who blocks the viewer or whom the viewer blocks left out
   * (neither sees the other), the rest with whether the viewer follows them. Anonymous: all, following false.
   */
  async shownTo(viewerId: number | undefined, users: UserSummary[]): Promise<ListedUser[]> {
    if (viewerId === undefined) return users.map((user) => ({ ...user, following: false }))
    const { following, blocked } = await this.followDao.viewerRelations(
      viewerId,
      users.map((user) => user.id)
    )
    return users.filter((user) => !blocked.has(user.id)).map((user) => ({ ...user, following: following.has(user.id) }))
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
