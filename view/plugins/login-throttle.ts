// Login throttling on top of the global per-IP limit: a stricter per-IP budget before the body is read; once
// it is validated, a budget per email from one address, then a higher one per email from all addresses.
import { normalizeIP } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { TooManyRequests } from '../../service/errors.ts'

export interface LoginLimits {
  perIp: number
  perEmailPerIp: number
  perEmail: number
  windowMs: number
}

export interface LoginThrottle {
  onRequest: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  preHandler: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  /**
   * PUT /users/me/password and DELETE /users/me (which ask for the password), after authentication: the
   * per-IP budget, then the per-email ones per account.
   */
  passwordChange: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>

// The schema has trimmed and lower-cased it, so spellings of one address share a budget.
const emailOf = (request: FastifyRequest) => (request.body as { email: string }).email

/**
 * Route hooks for POST /login (and PUT /users/me/password); a limit of 0 is off. @fastify/rate-limit must be registered on app.
 * Every limit is checked before the account is looked up, so a 429 says nothing about whether it exists.
 */
export function loginThrottle(app: FastifyInstance, limits: LoginLimits): LoginThrottle {
  const limiter = (max: number, keyOf: (request: FastifyRequest) => string = addressOf) =>
    max > 0
      ? app.createRateLimit({ max, timeWindow: limits.windowMs, keyGenerator: scoped('login', keyOf) })
      : undefined
  const perIp = limiter(limits.perIp)
  // A stranger's guesses use up their own address's budget for the account, not its owner's.
  const perEmailPerIp = limiter(limits.perEmailPerIp, (request) => `${addressOf(request)} ${emailOf(request)}`)
  // Guessing from many addresses at once still meets a ceiling; refused attempts never reach it (checked last),
  // so one address adds at most perEmailPerIp to it.
  const perEmail = limiter(limits.perEmail, emailOf)
  // Guesses at the current password of an account whose token was stolen: counted per account, from one
  // address and from all, on the login budgets.
  const account = (request: FastifyRequest) => `account ${request.user.user_id}`
  const perAccountPerIp = limiter(limits.perEmailPerIp, (request) => `${addressOf(request)} ${account(request)}`)
  const perAccount = limiter(limits.perEmail, account)
  return {
    onRequest: (request, reply) => check(perIp, request, reply, 'Too many login attempts from this address'),
    preHandler: async (request, reply) => {
      await check(perEmailPerIp, request, reply, 'Too many login attempts for this email from this address')
      await check(perEmail, request, reply, 'Too many login attempts for this email')
    },
    passwordChange: async (request, reply) => {
      await check(perIp, request, reply, 'Too many password attempts from this address')
      await check(perAccountPerIp, request, reply, 'Too many password attempts for this account from this address')
      await check(perAccount, request, reply, 'Too many password attempts for this account')
    }
  }
}

/** The client's address, an IPv6 one by its /64 (as @fastify/rate-limit's own key). */
export const addressOf = (request: FastifyRequest) => normalizeIP(request.ip)

/**
 * A limiter's key: its scope, then what it counts by (the address unless told). Limiters share one store
 * when counts live in Redis (shared-limit-store.ts), so no two may have keys alike.
 */
export function scoped(scope: string, keyOf: (request: FastifyRequest) => string = addressOf) {
  return (request: FastifyRequest) => `${scope} ${keyOf(request)}`
}

/** Counts the request against the limiter and refuses it (429 with Retry-After) once over the limit. */
export async function check(
  limiter: Limiter | undefined,
  request: FastifyRequest,
  reply: FastifyReply,
  message: string
) {
  if (!limiter) return
  const result = await limiter(request)
  if (result.isAllowed || !result.isExceeded) return
  refuse(reply, result.max, result.ttlInSeconds, message)
}

export function refuse(reply: FastifyReply, max: number, ttlInSeconds: number, message: string): never {
  reply.header('x-ratelimit-limit', max)
  reply.header('x-ratelimit-remaining', 0)
  reply.header('x-ratelimit-reset', ttlInSeconds)
  reply.header('retry-after', ttlInSeconds)
  throw new TooManyRequests(`${message}, retry in ${ttlInSeconds} seconds`, { retry_after: ttlInSeconds })
}
