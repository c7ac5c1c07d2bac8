// A user's notifications (written by the services whose actions they report, in the same transactions),
// paged both ways with the unread count, and the read mark.
import type { Transactor } from '../model/database.ts'
import type { NotificationDao, NotificationType } from '../model/notification-dao.ts'
import type { UserDao } from '../model/user-dao.ts'
import { pageOf, rowsToRead, windowOf, type Page, type TwoWayPageRequest } from './page.ts'
import type { Storage } from './storage/storage.ts'
import type { TweetItem } from './tweet-service.ts'

export interface NotificationItem {
  id: number
  type: NotificationType
  created_at: Date
  /** Who did it, shaped like a tweet's author. */
  account: TweetItem['user']
  /** The tweet liked, retweeted, replying or mentioning, as the recipient sees it; null for a follow. */
  tweet: TweetItem | null
}

export interface NotificationPage extends Page<NotificationItem> {
  unread_count: number
}

/** Tweets as their viewer sees them (TweetService), hidden ones left out. */
export interface ViewedTweets {
  tweetsByIds(ids: number[], viewerId?: number): Promise<TweetItem[]>
}

export class NotificationService {
  constructor(
    private readonly transactor: Transactor,
    private readonly notificationDao: NotificationDao,
    private readonly userDao: UserDao,
    private readonly tweets: ViewedTweets,
    private readonly storage: Storage
  ) {}

  /**
   * userId's notifications, newest first (`before`) or the next newer ones (`after`), with how many
   * are unread. One whose actor or tweet has gone since, or whose tweet is hidden from userId (a
   * block), is left out; the cursors still come from the rows read.
   */
  async list(userId: number, page: TwoWayPageRequest): Promise<NotificationPage> {
    const [rows, unread] = await Promise.all([
      this.notificationDao.page(userId, windowOf(page), rowsToRead(page)),
      this.notificationDao.unreadCount(userId)
    ])
    const read = pageOf(rows, page, (row) => row.id)
    const tweetIds = [...new Set(read.items.flatMap((row) => (row.tweet_id === null ? [] : [row.tweet_id])))]
    const [accounts, tweets] = await Promise.all([
      this.userDao.authors([...new Set(read.items.map((row) => row.actor_id))]),
      tweetIds.length > 0 ? this.tweets.tweetsByIds(tweetIds, userId) : []
    ])
    const shown = new Map(tweets.map((tweet) => [tweet.id, tweet]))
    const items: NotificationItem[] = []
    for (const row of read.items) {
      const account = accounts.get(row.actor_id)
      const tweet = row.tweet_id === null ? null : shown.get(row.tweet_id)
      if (!account || tweet === undefined) continue
      items.push({
        id: row.id,
        type: row.type,
        created_at: row.created_at,
        account: {
          id: account.id,
          name: account.name,
          username: account.username,
          profile_picture: account.profile_picture === null ? null : this.storage.url(account.profile_picture)
        },
        tweet
      })
    }
    return { ...read, items, unread_count: unread }
  }

  /** Marks everything up to `upTo` read (the mark never moves back) and answers what is still unread. */
  async markRead(userId: number, upTo: number): Promise<{ unread_count: number }> {
    await this.notificationDao.markRead(this.transactor.autocommit, userId, upTo)
    return { unread_count: await this.notificationDao.unreadCount(userId) }
  }
}
