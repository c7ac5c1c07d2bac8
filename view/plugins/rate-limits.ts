// Overload protection and rate limits: load shedding, the per-IP API budget (a separate one for stored
// files), and the sign-up and login throttles the account routes hook in.
import fastifyRateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import fastifyUnderPressure from '@fastify/under-pressure'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config.ts'
import { TooManyRequests } from '../../service/errors.ts'
import { localUploadsPrefix } from '../../service/storage/local.ts'
import type { Redis } from 'ioredis'
import { loginThrottle, scoped, type LoginThrottle } from './login-throttle.ts'
import { SharedLimitStore } from './shared-limit-store.ts'
import { signUpThrottle, type SignUpThrottle } from './sign-up-throttle.ts'

export interface AccountThrottles {
  throttleSignUp: SignUpThrottle
  throttleLogin: LoginThrottle
}

type LimitSettings = Pick<Config, 'underPressure' | 'rateLimit' | 'signUpRateLimit' | 'loginRateLimit' | 'storage'>

/**
 * Load shedding, then the limits: counted in Redis when the app has a connection (REDIS_URL), so they hold
 * for every instance together, else in this process.
 */
export async function registerLimits(
  app: FastifyInstance,
  config: LimitSettings,
  redis?: Redis
): Promise<AccountThrottles> {
  await app.register(fastifyUnderPressure, {
    maxEventLoopDelay: config.underPressure.maxEventLoopDelayMs,
    maxHeapUsedBytes: config.underPressure.maxHeapUsedBytes
  })
  await app.register(fastifyRateLimit, {
    global: false,
    max: config.rateLimit.max,
    timeWindow: config.rateLimit.windowMs,
    allowList: (request) => request.routeOptions.config?.rateLimit === false,
    keyGenerator: scoped('api'),
    ...(redis && { store: sharedStore(redis, app) }),
    errorResponseBuilder: (_request, context) => {
      const seconds = Math.ceil(context.ttl / 1000)
      return new TooManyRequests(`Too many requests, retry in ${seconds} seconds`, { retry_after: seconds })
    }
  })
  // A global hook rather than the plugin's per-route one, so it also runs before authentication and for
  // unknown routes: a flood of bad tokens or 404s is throttled too. Stored files have a budget of their
  // own: a page of avatars is many requests, and must not use up the API's.
  const apiLimit = config.rateLimit.max > 0 ? app.rateLimit() : undefined
  const uploadsLimit =
    config.rateLimit.uploadsMax > 0 && config.storage === 'local'
      ? app.rateLimit({
          max: config.rateLimit.uploadsMax,
          timeWindow: config.rateLimit.windowMs,
          keyGenerator: scoped('uploads')
        })
      : undefined
  if (apiLimit || uploadsLimit) {
    // Exempt routes (the health checks) skip the limiter entirely: they are the hottest, cheapest paths.
    app.addHook('onRequest', async function (request, reply) {
      if (request.routeOptions.config?.rateLimit === false) return
      const limit = request.routeOptions.url?.startsWith(localUploadsPrefix) ? uploadsLimit : apiLimit
      return limit?.call(this, request, reply)
    })
  }
  return {
    throttleSignUp: signUpThrottle(app, config.signUpRateLimit),
    throttleLogin: loginThrottle(app, config.loginRateLimit)
  }
}

/** The plugin makes its store with `new`: one SharedLimitStore serves every limiter (keys carry scopes). */
function sharedStore(redis: Redis, app: FastifyInstance): FastifyRateLimitStoreCtor {
  const store = new SharedLimitStore(redis, app.log)
  return function SharedStore() {
    return store
  } as unknown as FastifyRateLimitStoreCtor
}
