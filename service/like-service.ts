// Likes: like and unlike (each one short transaction keeping tweets.like_count exact), and the two lists:
// who likes a tweet, and which tweets a user likes, both newest like first.
import type { PoolConnection, Transactor } from '../model/database.ts'
import type { NotificationDao } from '../model/notification-dao.ts'
import type { LikeDao } from '../model/like-dao.ts'
import type { TweetDao } from '../model/tweet-dao.ts'
import type { UserDao } from '../model/user-dao.ts'
import { NotFound } from './errors.ts'
import { toUserSummary, type ListedUser, type UserSummary } from './follow-service.ts'
import { pageOf, rowsToRead, windowOf, type Page, type TwoWayPageRequest } from './page.ts'
import type { Storage } from './storage/storage.ts'
import type { TweetItem } from './tweet-service.ts'
import { noEvents, type EventPublisher } from './events.ts'

/** What likes need from tweets (TweetService): tweets as the API shows them, with a viewer's flags. */
export interface TweetItemSource {
  tweetById(id: number, viewerId?: number): Promise<TweetItem>
  tweetsByIds(ids: number[], viewerId?: number): Promise<TweetItem[]>
}

/** What likes need from people (FollowService): users as a viewer is shown them. */
export interface ListedUserSource {
  shownTo(viewerId: number | undefined, users: UserSummary[]): Promise<ListedUser[]>
}

export class LikeService {
  constructor(
    private readonly transactor: Transactor,
    private readonly likeDao: LikeDao,
    private readonly tweetDao: TweetDao,
    private readonly userDao: UserDao,
    private readonly notificationDao: NotificationDao,
    private readonly tweets: TweetItemSource,
    private readonly storage: Storage,
    private readonly follows: ListedUserSource,
    private readonly events: EventPublisher = noEvents
  ) {}

  /** Idempotent: liking twice is one like. Answers the tweet as the caller now sees it. */
  async like(userId: number, tweetId: number): Promise<TweetItem> {
    // A tweet hidden from the caller (a block either way) is one they cannot like: 404, as unknown.
    const { user_id: authorId } = await this.tweets.tweetById(tweetId, userId)
    if (await this.change(userId, tweetId, 1, (connection) => this.likeDao.like(connection, userId, tweetId))) {
      this.events.publish({ type: 'notification', user_ids: [authorId] })
    }
    return this.tweets.tweetById(tweetId, userId)
  }

  /** Idempotent: unliking what you do not like changes nothing. Answers the tweet as the caller now sees it. */
  async unlike(userId: number, tweetId: number): Promise<TweetItem> {
    await this.change(userId, tweetId, -1, (connection) => this.likeDao.unlike(connection, userId, tweetId))
    return this.tweets.tweetById(tweetId, userId)
  }

  /**
   * One transaction: the tweet's row locked (likes of a tweet take turns; NotFound when it is gone), the
   * like written, and the counter moved only when a row was really added or removed. True when it was.
   */
  private async change(
    userId: number,
    tweetId: number,
    delta: number,
    write: (connection: PoolConnection) => Promise<boolean>
  ): Promise<boolean> {
    const changed = await this.transactor.run(async (connection) => {
      if (!(await this.likeDao.lockTweet(connection, tweetId))) {
        throw new NotFound('Tweet not found', { tweet_id: tweetId })
      }
      if (!(await write(connection))) return false
      await this.likeDao.addLikeCount(connection, tweetId, delta)
      // Its author hears of a new like; an unlike takes that back (liking again notifies again).
      if (delta > 0) await this.notificationDao.addForTweet(connection, 'like', userId, tweetId)
      else await this.notificationDao.removeForTweet(connection, 'like', userId, tweetId)
      return true
    })
    // Once committed: this process's pages show the new count at once.
    if (changed) this.tweetDao.forgetTweet(tweetId)
    return changed
  }

  /**
   * Part of erasing a deleted account (service/account-eraser.ts): removes up to `limit` of its likes, as
   * unlike does (counter and notification), in one transaction that locks the tweets in id order. Answers
   * how many likes went (0: none left).
   */
  async removeLikesBy(userId: number, limit: number): Promise<number> {
    const tweetIds = await this.likeDao.likedTweetIds(this.transactor.autocommit, userId, limit)
    if (tweetIds.length === 0) return 0
    const removed = await this.transactor.run(async (connection) => {
      let count = 0
      for (const tweetId of tweetIds) {
        // A tweet deleted meanwhile took its likes with it.
        if (!(await this.likeDao.lockTweet(connection, tweetId))) continue
        if (!(await this.likeDao.unlike(connection, userId, tweetId))) continue
        await this.likeDao.addLikeCount(connection, tweetId, -1)
        await this.notificationDao.removeForTweet(connection, 'like', userId, tweetId)
        count += 1
      }
      return count
    })
    for (const tweetId of tweetIds) this.tweetDao.forgetTweet(tweetId)
    return removed
  }

  /**
   * Who likes the tweet, newest like first, as viewerId is shown them (FollowService.shownTo: none blocked
   * either way, each with `following`); the cursor is the id of the page's last like. A tweet hidden from
   * the viewer by a block is not found.
   */
  async likers(tweetId: number, page: TwoWayPageRequest, viewerId?: number): Promise<Page<ListedUser>> {
    const wanted = rowsToRead(page)
    const [, rows] = await Promise.all([
      this.tweets.tweetById(tweetId, viewerId),
      this.likeDao.likers(tweetId, windowOf(page), wanted)
    ])
    const shown = pageOf(rows, page, (row) => row.like_id)
    return {
      ...shown,
      items: await this.follows.shownTo(
        viewerId,
        shown.items.map((row) => toUserSummary(row, this.storage))
      )
    }
  }

  /**
   * The tweets the user likes, newest like first, with `viewerId`'s flags; the cursor is the id of the
   * page's last like (not a tweet id), even when its tweet was deleted meanwhile and is not shown.
   */
  async likedTweets(userId: number, page: TwoWayPageRequest, viewerId?: number): Promise<Page<TweetItem>> {
    const wanted = rowsToRead(page)
    const [exists, rows] = await Promise.all([
      this.userDao.exists(userId),
      this.likeDao.likedTweets(userId, windowOf(page), wanted)
    ])
    if (!exists) throw new NotFound('User not found', { user_id: userId })
    const shown = pageOf(rows, page, (row) => row.like_id)
    return {
      ...shown,
      items: await this.tweets.tweetsByIds(
        shown.items.map((row) => row.tweet_id),
        viewerId
      )
    }
  }
}
