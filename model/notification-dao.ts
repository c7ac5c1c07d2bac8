// Notifications: written and removed inside the transactions of the actions they report (follows,
// likes, retweets, replies, mentions), a user's notifications paged both ways, the read mark.
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import { orderOf, type IdWindow, type Queryable } from './database.ts'

export type NotificationType = 'follow' | 'like' | 'reply' | 'mention' | 'retweet'

export interface NotificationRow {
  id: number
  type: NotificationType
  actor_id: number
  tweet_id: number | null
  created_at: Date
}

// Never for one's own action, nor between users one of whom blocks the other, nor from someone the
// recipient mutes: the condition every insert carries, on the values `recipient` and `actor` name.
const wanted = (recipient: string, actor: string) => `${recipient} <> ${actor}
   AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.user_id = ${recipient} AND b.blocked_id = ${actor})
   AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.user_id = ${actor} AND b.blocked_id = ${recipient})
   AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.user_id = ${recipient} AND m.muted_id = ${actor})`

export class NotificationDao {
  /** Writes take the action's connection; reads go to the primary (they show the caller's own state). */
  constructor(private readonly pool: Pool) {}

  /**
   * Notifies recipientId of actorId's action, unless it is their own or one of them blocks the other or
   * the recipient mutes the actor. Idempotent: one notification per source. True when one was written.
   */
  async add(
    connection: Queryable,
    recipientId: number,
    type: NotificationType,
    actorId: number,
    tweetId: number | null
  ): Promise<boolean> {
    const [result] = await connection.execute<ResultSetHeader>(
      `INSERT IGNORE INTO notifications (user_id, type, actor_id, tweet_id)
       SELECT v.recipient, ?, v.actor, ? FROM (SELECT ? AS recipient, ? AS actor) v
        WHERE ${wanted('v.recipient', 'v.actor')}`,
      [type, tweetId, recipientId, actorId]
    )
    return result.affectedRows > 0
  }

  /** Notifies the author of tweetId of actorId's like or retweet of it, on the same terms as add. */
  async addForTweet(
    connection: Queryable,
    type: 'like' | 'retweet',
    actorId: number,
    tweetId: number
  ): Promise<boolean> {
    const [result] = await connection.execute<ResultSetHeader>(
      `INSERT IGNORE INTO notifications (user_id, type, actor_id, tweet_id)
       SELECT t.user_id, ?, v.actor, t.id FROM tweets t JOIN (SELECT ? AS actor) v
        WHERE t.id = ? AND ${wanted('t.user_id', 'v.actor')}`,
      [type, actorId, tweetId]
    )
    return result.affectedRows > 0
  }

  /** Notifies the author of the tweet `replyId` answers (a reply's notification, on the same terms as add). */
  async addForReply(connection: Queryable, replyId: number): Promise<boolean> {
    const [result] = await connection.execute<ResultSetHeader>(
      `INSERT IGNORE INTO notifications (user_id, type, actor_id, tweet_id)
       SELECT p.user_id, 'reply', r.user_id, r.id
         FROM tweets r JOIN tweets p ON p.id = r.in_reply_to
        WHERE r.id = ? AND ${wanted('p.user_id', 'r.user_id')}`,
      [replyId]
    )
    return result.affectedRows > 0
  }

  /**
   * Notifies these users that tweetId mentions them, on the same terms as add; the author of the tweet it
   * replies to is told by the reply's notification instead. Idempotent: an edit naming someone again
   * notifies them no second time.
   */
  async addForMentions(connection: Queryable, tweetId: number, userIds: readonly number[]): Promise<void> {
    if (userIds.length === 0) return
    await connection.query(
      `INSERT IGNORE INTO notifications (user_id, type, actor_id, tweet_id)
       SELECT u.id, 'mention', t.user_id, t.id
         FROM tweets t JOIN users u ON u.id IN (?) LEFT JOIN tweets p ON p.id = t.in_reply_to
        WHERE t.id = ? AND (p.user_id IS NULL OR p.user_id <> u.id) AND ${wanted('u.id', 't.user_id')}`,
      [userIds, tweetId]
    )
  }

  /** Removes the notification of a follow that went (an unfollow, or a block ending it). */
  async removeFollow(connection: Queryable, recipientId: number, actorId: number): Promise<void> {
    await connection.execute(
      "DELETE FROM notifications WHERE user_id = ? AND type = 'follow' AND actor_id = ? AND tweet_key = 0",
      [recipientId, actorId]
    )
  }

  /** Removes the notification of a like or retweet of tweetId that went (an unlike, an undone retweet). */
  async removeForTweet(
    connection: Queryable,
    type: 'like' | 'retweet',
    actorId: number,
    tweetId: number
  ): Promise<void> {
    await connection.execute('DELETE FROM notifications WHERE tweet_id = ? AND type = ? AND actor_id = ?', [
      tweetId,
      type,
      actorId
    ])
  }

  /** Removes what each of two users was notified of by the other (a block). */
  async removeBetween(connection: Queryable, a: number, b: number): Promise<void> {
    await connection.execute(
      'DELETE FROM notifications WHERE (user_id = ? AND actor_id = ?) OR (user_id = ? AND actor_id = ?)',
      [a, b, b, a]
    )
  }

  /** Removes userId's notifications from actorId (a mute: they stop). */
  async removeFrom(connection: Queryable, userId: number, actorId: number): Promise<void> {
    await connection.execute('DELETE FROM notifications WHERE user_id = ? AND actor_id = ?', [userId, actorId])
  }

  /** userId's notifications in the window, newest first (oldest first from `after`): limit index entries. */
  async page(userId: number, window: IdWindow, limit: number): Promise<NotificationRow[]> {
    const [rows] = await this.pool.execute<(NotificationRow & RowDataPacket)[]>(
      `SELECT id, type, actor_id, tweet_id, created_at
         FROM notifications FORCE INDEX (notifications_user)
        WHERE user_id = ? AND id > ? AND id < ?
        ORDER BY id ${orderOf(window)}
        LIMIT ?`,
      [userId, window.after, window.before, String(limit)]
    )
    return rows
  }

  /** How many of userId's notifications are above their read mark. */
  async unreadCount(userId: number): Promise<number> {
    const [rows] = await this.pool.execute<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM notifications n FORCE INDEX (notifications_user)
        WHERE n.user_id = ? AND n.id > (SELECT notifications_read_id FROM users WHERE id = ?)`,
      [userId, userId]
    )
    return Number(rows[0].n)
  }

  /** Moves userId's read mark up to `upTo` (never down). */
  async markRead(connection: Queryable, userId: number, upTo: number): Promise<void> {
    await connection.execute(
      'UPDATE users SET notifications_read_id = GREATEST(notifications_read_id, ?) WHERE id = ?',
      [upTo, userId]
    )
  }
}
