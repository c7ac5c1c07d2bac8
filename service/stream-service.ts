// Live streams (GET /stream): this instance's open streams, what each receives of the events published on
// any instance (service/events.ts), one-time tickets for browsers, resuming from a timeline cursor, the
// heartbeat, and the limits: streams per user, and a client that reads too slowly is dropped, never
// buffered without bound.
import { createHash, randomBytes } from 'node:crypto'
import type { Transactor } from '../model/database.ts'
import type { FollowDao } from '../model/follow-dao.ts'
import type { StreamTicketDao } from '../model/stream-ticket-dao.ts'
import { TooManyRequests, Unauthorized, Unavailable } from './errors.ts'
import type { EventBus, LiveEvent } from './events.ts'
import type { WorkerLog } from './fanout-worker.ts'
import type { NotificationItem, NotificationPage } from './notification-service.ts'
import type { Page, TwoWayPageRequest } from './page.ts'
import type { TweetItem } from './tweet-service.ts'

/** One server-sent event, or a comment (`comment`) that only keeps the connection alive. */
export interface StreamMessage {
  event?: 'tweet' | 'delete' | 'notification' | 'resync'
  data?: unknown
  /** The timeline cursor of a `tweet` event: what Last-Event-ID resumes after. */
  id?: number
  comment?: string
}

/** Where a stream's messages go (the HTTP response, in view/stream.ts). */
export interface StreamSink {
  /** Writes one message; false when the client has not read what it was sent before (over the buffer limit). */
  send(message: StreamMessage): boolean
  /** Ends the response. */
  close(): void
}

export interface StreamSettings {
  /** Open streams of one user on one instance. */
  maxPerUser: number
  /** A comment on every stream this often, so proxies and clients see the connection alive. */
  heartbeatMs: number
  /** Timeline items sent at most when a stream resumes from Last-Event-ID; beyond, `resync`. */
  resumeLimit: number
  /** How long a ticket is good for. */
  ticketSeconds: number
}

/** What streams need of the other services. */
export interface StreamSources {
  streamItems(rowId: number, viewerIds: readonly number[]): Promise<Map<number, TweetItem>>
  timelineFor(userId: number, page: TwoWayPageRequest, viewerId?: number): Promise<Page<TweetItem>>
  notifications(userId: number, page: TwoWayPageRequest): Promise<NotificationPage>
}

/** A stream with its place taken: start() sends what it must first; close() ends it and frees the place. */
export interface OpenStream {
  start(lastEventId?: number): Promise<void>
  close(): void
}

interface Stream {
  userId: number
  sink: StreamSink
  /** The newest notification this stream has been sent (or that existed when it opened). */
  lastNotification: number
}

/** The cursor a timeline item is paged by: its retweet's row for a retweet, else its own id. */
export const cursorOf = (item: TweetItem) => item.retweeted_by?.retweet_id ?? item.id

const hashOf = (ticket: string) => createHash('sha256').update(ticket).digest()

export class StreamService {
  private readonly byUser = new Map<number, Set<Stream>>()
  private readonly unsubscribe: () => void
  private readonly heartbeat: NodeJS.Timeout
  private closing = false

  constructor(
    bus: EventBus,
    private readonly sources: StreamSources,
    private readonly followDao: FollowDao,
    private readonly ticketDao: StreamTicketDao,
    private readonly transactor: Transactor,
    private readonly settings: StreamSettings,
    private readonly log: WorkerLog
  ) {
    this.unsubscribe = bus.subscribe((event) => {
      this.deliver(event).catch((err: unknown) => this.log.error({ err, event }, 'stream: event not delivered'))
    })
    this.heartbeat = setInterval(() => this.beat(), settings.heartbeatMs).unref()
  }

  /** Open streams on this instance. */
  get openStreams(): number {
    let count = 0
    for (const streams of this.byUser.values()) count += streams.size
    return count
  }

  /** A ticket for one stream of userId within ticketSeconds; only its hash is kept. */
  async issueTicket(userId: number): Promise<{ ticket: string; expires_in: number }> {
    const ticket = randomBytes(32).toString('base64url')
    await this.ticketDao.insert(hashOf(ticket), userId, this.settings.ticketSeconds)
    return { ticket, expires_in: this.settings.ticketSeconds }
  }

  /** The user a ticket was issued to; used once, whichever instance it reaches. Unauthorized otherwise. */
  async redeemTicket(ticket: string): Promise<number> {
    const userId = await this.transactor.run((connection) => this.ticketDao.redeem(connection, hashOf(ticket)))
    if (userId === undefined) throw new Unauthorized('The stream ticket is unknown, used or expired')
    return userId
  }

  /**
   * Takes a place for a stream of userId's home timeline into `sink`, at once (nothing is sent yet):
   * Unavailable while stopping, TooManyRequests when the user has maxPerUser streams open here already.
   * Answers the stream, for start() and close().
   */
  open(userId: number, sink: StreamSink): OpenStream {
    if (this.closing) throw new Unavailable('The server is stopping: reconnect to another instance')
    const streams = this.byUser.get(userId) ?? new Set<Stream>()
    if (streams.size >= this.settings.maxPerUser) {
      throw new TooManyRequests(`At most ${this.settings.maxPerUser} open streams per user`, {
        max_streams: this.settings.maxPerUser
      })
    }
    // Notifications are sent from start() on, once the newest one is known.
    const stream: Stream = { userId, sink, lastNotification: Number.MAX_SAFE_INTEGER }
    streams.add(stream)
    this.byUser.set(userId, streams)
    return { start: (lastEventId) => this.start(stream, lastEventId), close: () => this.remove(stream) }
  }

  /**
   * What the stream sends before live events: what was missed after `lastEventId` (at most resumeLimit
   * items, oldest first; `resync` when there were more). Live events already flow meanwhile: one may be
   * sent twice (clients keep items by id), none is lost.
   */
  private async start(stream: Stream, lastEventId?: number): Promise<void> {
    const newest = await this.sources.notifications(stream.userId, { limit: 1 })
    stream.lastNotification = Math.min(stream.lastNotification, newest.items[0]?.id ?? 0)
    if (lastEventId === undefined) return
    const page = { after: lastEventId, limit: this.settings.resumeLimit }
    const missed = await this.sources.timelineFor(stream.userId, page, stream.userId)
    for (const item of [...missed.items].reverse()) {
      if (!this.send(stream, { event: 'tweet', id: cursorOf(item), data: item })) return
    }
    if (missed.prev_cursor !== null) this.send(stream, { event: 'resync', data: { after: lastEventId } })
  }

  /** Ends every stream (a graceful stop): clients reconnect elsewhere with Last-Event-ID. */
  closeAll(): void {
    this.closing = true
    clearInterval(this.heartbeat)
    this.unsubscribe()
    for (const streams of this.byUser.values()) for (const stream of streams) stream.sink.close()
    this.byUser.clear()
  }

  private remove(stream: Stream): void {
    const streams = this.byUser.get(stream.userId)
    if (!streams?.delete(stream)) return
    if (streams.size === 0) this.byUser.delete(stream.userId)
    stream.sink.close()
  }

  /** Sends, and drops a stream whose client does not keep up. */
  private send(stream: Stream, message: StreamMessage): boolean {
    if (stream.sink.send(message)) return true
    this.log.warn({ user_id: stream.userId }, 'stream: client too slow, dropped')
    this.remove(stream)
    return false
  }

  private beat(): void {
    for (const streams of [...this.byUser.values()]) {
      for (const stream of [...streams]) this.send(stream, { comment: 'heartbeat' })
    }
  }

  private async deliver(event: LiveEvent): Promise<void> {
    if (this.byUser.size === 0) return
    if (event.type === 'notification') {
      await Promise.all(event.user_ids.filter((id) => this.byUser.has(id)).map((id) => this.sendNotifications(id)))
      return
    }
    const recipients = await this.recipients(event)
    if (event.type === 'delete') {
      for (const userId of recipients) this.broadcast(userId, { event: 'delete', data: { id: event.id } })
      return
    }
    for (const [userId, item] of await this.sources.streamItems(event.id, recipients)) {
      this.broadcast(userId, { event: 'tweet', id: cursorOf(item), data: item })
    }
  }

  /**
   * The users with a stream here whom a tweet or delete concerns: the author (a delete, or a tweet's `self`)
   * and the followers its audience names (every follower, for a delete).
   */
  private async recipients(event: Exclude<LiveEvent, { type: 'notification' }>): Promise<number[]> {
    const { author_id: authorId } = event
    const connected = [...this.byUser.keys()].filter((id) => id !== authorId)
    const audience = event.type === 'tweet' ? event.audience : 'followers'
    const followers = await this.followDao.followersAmong(authorId, connected, audience)
    const self = event.type === 'delete' || event.self
    return self && this.byUser.has(authorId) ? [authorId, ...followers] : followers
  }

  private broadcast(userId: number, message: StreamMessage): void {
    for (const stream of [...(this.byUser.get(userId) ?? [])]) this.send(stream, message)
  }

  /** Each of the user's streams gets the notifications newer than the last it was sent, oldest first. */
  private async sendNotifications(userId: number): Promise<void> {
    for (const stream of [...(this.byUser.get(userId) ?? [])]) {
      const page = await this.sources.notifications(userId, { after: stream.lastNotification, limit: 20 })
      const items: NotificationItem[] = [...page.items].reverse()
      for (const item of items) {
        if (item.id <= stream.lastNotification) continue
        stream.lastNotification = item.id
        if (!this.send(stream, { event: 'notification', data: item })) break
      }
    }
  }
}
