// Login throttling on top of the global per-IP limit: a stricter per-IP budget before the body is read,
// and a per-email budget once it is validated, so guessing is slow from one address or against one account.
import type {} from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { TooManyRequests } from '../service/errors.ts'

export interface LoginLimits {
  perIp: number
  perEmail: number
  windowMs: number
}

export interface LoginThrottle {
  onRequest: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  preHandler: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>

/** Route hooks for POST /login; a limit of 0 is off. @fastify/rate-limit must be registered on app. */
export function loginThrottle(app: FastifyInstance, limits: LoginLimits): LoginThrottle {
  const perIp = limits.perIp > 0 ? app.createRateLimit({ max: limits.perIp, timeWindow: limits.windowMs }) : undefined
  const perEmail =
    limits.perEmail > 0
      ? app.createRateLimit({
          max: limits.perEmail,
          timeWindow: limits.windowMs,
          // The schema has trimmed and lower-cased it, so spellings of one address share a budget.
          keyGenerator: (request) => (request.body as { email: string }).email
        })
      : undefined
  return {
    onRequest: (request, reply) => check(perIp, request, reply, 'from this address'),
    preHandler: (request, reply) => check(perEmail, request, reply, 'for this account')
  }
}

async function check(limiter: Limiter | undefined, request: FastifyRequest, reply: FastifyReply, scope: string) {
  if (!limiter) return
  const result = await limiter(request)
  if (result.isAllowed || !result.isExceeded) return
  reply.header('x-ratelimit-limit', result.max)
  reply.header('x-ratelimit-remaining', 0)
  reply.header('x-ratelimit-reset', result.ttlInSeconds)
  reply.header('retry-after', result.ttlInSeconds)
  throw new TooManyRequests(`Too many login attempts ${scope}, retry in ${result.ttlInSeconds} seconds`, {
    retry_after: result.ttlInSeconds
  })
}
