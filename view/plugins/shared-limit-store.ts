// Rate-limit counters in Redis, so the limits hold for the whole deployment rather than per instance. While
// Redis cannot answer, each instance counts on its own (logged once), and shared counting resumes as soon as
// Redis answers again. Every limiter's keys carry its own scope (rate-limits.ts, the throttles), so one
// store serves them all.
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void

// One round trip: count, start the window on the first hit, answer the count and the window's time left.
const incrementScript = `
  local current = redis.call('INCR', KEYS[1])
  if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
  return {current, ttl}`

const readScript = `
  local current = redis.call('GET', KEYS[1])
  if not current then return {0, 0} end
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then ttl = 0 end
  return {tonumber(current), ttl}`

/** A fixed-window counter per key in this process, at most `maxKeys` of them: the fallback. */
export class LocalCounters {
  private readonly windows = new Map<string, { count: number; endsAt: number }>()

  constructor(private readonly maxKeys = 10_000) {}

  increment(key: string, windowMs: number): { current: number; ttl: number } {
    return this.count(key, windowMs, 1)
  }

  read(key: string, windowMs: number): { current: number; ttl: number } {
    return this.count(key, windowMs, 0)
  }

  private count(key: string, windowMs: number, by: number): { current: number; ttl: number } {
    const now = Date.now()
    let window = this.windows.get(key)
    if (!window || window.endsAt <= now) {
      if (by === 0) return { current: 0, ttl: 0 }
      window = { count: 0, endsAt: now + windowMs }
      this.windows.delete(key)
      // The oldest key goes first (a Map keeps insertion order).
      if (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!)
      this.windows.set(key, window)
    }
    window.count += by
    return { current: window.count, ttl: window.endsAt - now }
  }
}

interface Scripts {
  miniterLimitIncrement(key: string, windowMs: number): Promise<[number, number]>
  miniterLimitRead(key: string): Promise<[number, number]>
}

export class SharedLimitStore {
  private shared = true

  constructor(
    private readonly redis: Redis & Partial<Scripts>,
    private readonly log: FastifyBaseLogger,
    private readonly local = new LocalCounters()
  ) {
    if (!redis.miniterLimitIncrement) {
      redis.defineCommand('miniterLimitIncrement', { numberOfKeys: 1, lua: incrementScript })
      redis.defineCommand('miniterLimitRead', { numberOfKeys: 1, lua: readScript })
    }
  }

  /** Whether counts are shared right now (false while Redis cannot answer). */
  get isShared(): boolean {
    return this.shared
  }

  incr(key: string, callback: Callback, windowMs: number): void {
    this.answer(
      () => (this.redis as Redis & Scripts).miniterLimitIncrement(`limit:${key}`, windowMs),
      () => this.local.increment(key, windowMs),
      callback
    )
  }

  read(key: string, callback: Callback, windowMs: number): void {
    this.answer(
      () => (this.redis as Redis & Scripts).miniterLimitRead(`limit:${key}`),
      () => this.local.read(key, windowMs),
      callback
    )
  }

  /** Every limiter shares this store: their keys already say whose they are. */
  child(): SharedLimitStore {
    return this
  }

  private answer(
    shared: () => Promise<[number, number]>,
    local: () => { current: number; ttl: number },
    callback: Callback
  ): void {
    // A client still connecting or reconnecting would only fail: count here at once.
    if (this.redis.status !== 'ready') {
      this.fallBack(new Error(`Redis is ${this.redis.status}`))
      callback(null, local())
      return
    }
    shared().then(
      ([current, ttl]) => {
        if (!this.shared) {
          this.shared = true
          this.log.info('rate limits: Redis answers again, limits are shared by every instance')
        }
        callback(null, { current, ttl })
      },
      (error: unknown) => {
        this.fallBack(error)
        callback(null, local())
      }
    )
  }

  private fallBack(error: unknown): void {
    if (!this.shared) return
    this.shared = false
    this.log.warn({ err: error }, 'rate limits: Redis does not answer, each instance counts on its own until it does')
  }
}
