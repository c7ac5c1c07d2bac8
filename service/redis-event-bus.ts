// Live events through Redis pub/sub: an event published on any instance reaches the streams of all of them.
// Publishing needs Redis to answer; while it does not, events reach this instance's streams only (logged
// once), and clients that reconnect elsewhere catch up from the timeline (Last-Event-ID).
import type { Redis } from 'ioredis'
import { LocalEventBus, type EventBus, type LiveEvent } from './events.ts'

interface Log {
  info(details: object, message: string): void
  warn(details: object, message: string): void
}

export class RedisEventBus implements EventBus {
  private readonly local = new LocalEventBus()
  private readonly subscriber: Redis
  private readonly channel: string
  private reachable = true

  /** `redis` publishes; a second connection of the same settings subscribes. */
  constructor(
    private readonly redis: Redis,
    private readonly log: Log
  ) {
    // Channels are not keys: the key prefix is added by hand, so deployments sharing a Redis stay apart.
    this.channel = `${redis.options.keyPrefix ?? ''}events`
    // Unlike the publisher, the subscriber queues its SUBSCRIBE until connected (and after each reconnect
    // ioredis subscribes again by itself).
    this.subscriber = redis.duplicate({ enableOfflineQueue: true })
    this.subscriber.on('error', () => {})
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.local.deliver(JSON.parse(message) as LiveEvent)
    })
    this.subscribed = this.subscriber.subscribe(this.channel).then(
      () => true,
      () => false
    )
  }

  /** Resolves once the subscription is in place: true, or false when it failed (events then stay local). */
  readonly subscribed: Promise<boolean>

  publish(event: LiveEvent): void {
    if (this.redis.status !== 'ready') {
      this.unreachable(new Error(`Redis is ${this.redis.status}`))
      this.local.deliver(event)
      return
    }
    this.redis.publish(this.channel, JSON.stringify(event)).then(
      () => {
        if (!this.reachable) {
          this.reachable = true
          this.log.info({}, 'live events: Redis answers again, events reach every instance')
        }
      },
      (error: unknown) => {
        this.unreachable(error)
        this.local.deliver(event)
      }
    )
  }

  subscribe(listener: (event: LiveEvent) => void): () => void {
    return this.local.subscribe(listener)
  }

  async close(): Promise<void> {
    await this.local.close()
    this.subscriber.disconnect()
  }

  private unreachable(error: unknown): void {
    if (!this.reachable) return
    this.reachable = false
    this.log.warn({ err: error }, 'live events: Redis does not answer, events reach this instance’s streams only')
  }
}
