// The connection to Redis (REDIS_URL), through which instances share state: rate-limit counters, and what
// each of them must hear of the others. Without REDIS_URL there is none and every instance keeps its own.
import { Redis } from 'ioredis'

export interface RedisSettings {
  url: string
  /** Put before every key, so that deployments (or tests) can share one Redis. */
  keyPrefix: string
}

/**
 * A client that never queues a command while disconnected and gives up on one after `commandTimeoutMs`:
 * its callers fall back at once instead of stalling requests. It reconnects on its own, forever, at most
 * every two seconds; its users notice that through their next command.
 */
export function createRedis({ url, keyPrefix }: RedisSettings, commandTimeoutMs = 500): Redis {
  const redis = new Redis(url, {
    keyPrefix,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000)
  })
  // Each failure reaches the command that met it; without a listener ioredis would print every one.
  redis.on('error', () => {})
  return redis
}
