// Live events: what a write tells the streams (GET /stream) of every instance. A service publishes after its
// transaction commits; the stream hub of each instance (service/stream-service.ts) works out which of its
// streams an event concerns and what to send them. In one process the bus is local; with REDIS_URL it runs
// through Redis pub/sub (model/redis-event-bus.ts), so an event reaches streams on every instance.

/** Who may now see a tweet (or a retweet's row) on their home timeline. */
export type Audience =
  /** The author's followers, if the author is read directly by them ('pull': nothing is copied). */
  | 'pulled'
  /** The followers with ids in (after, through] the fan-out has just copied it to. */
  | { after: number; through: number }
  /** Every follower (a group of small fan-outs, copied in one statement). */
  | 'followers'

export type LiveEvent =
  /** A new row on home timelines: a tweet, or a retweet's row (retweet_of set). */
  | { type: 'tweet'; id: number; author_id: number; self: boolean; audience: Audience }
  /** A tweet deleted: off the author's and their followers' timelines. */
  | { type: 'delete'; id: number; author_id: number }
  /** These users have new notifications. */
  | { type: 'notification'; user_ids: number[] }

export interface EventPublisher {
  /** Fire and forget: a lost event costs a live update, never a write (clients resume from the timeline). */
  publish(event: LiveEvent): void
}

export interface EventBus extends EventPublisher {
  /** Calls `listener` with every event published on any instance; answers the unsubscribe. */
  subscribe(listener: (event: LiveEvent) => void): () => void
  close(): Promise<void>
}

/** Publishes nothing: services built without streams (tests of other things, scripts). */
export const noEvents: EventPublisher = { publish: () => {} }

/** The bus of one process: events reach this instance's streams only. */
export class LocalEventBus implements EventBus {
  private readonly listeners = new Set<(event: LiveEvent) => void>()

  publish(event: LiveEvent): void {
    this.deliver(event)
  }

  /** Hands an event to every listener; one that throws does not keep it from the others. */
  deliver(event: LiveEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch {
        // A listener handles its own failures (the hub logs them); nothing to do for the others.
      }
    }
  }

  subscribe(listener: (event: LiveEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async close(): Promise<void> {
    this.listeners.clear()
  }
}
