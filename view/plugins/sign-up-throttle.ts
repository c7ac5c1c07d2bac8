// Sign-up throttling on top of the global per-IP limit: a per-IP budget of attempts before the body is read
// (each one may cost a bcrypt hash), and a tighter per-IP budget of answers that an email is taken.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { SignUpAdmission } from '../../service/user-service.ts'
import { check, refuse, scoped } from './login-throttle.ts'

export interface SignUpLimits {
  perIp: number
  takenPerIp: number
  windowMs: number
}

export interface SignUpThrottle {
  onRequest: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  /** What UserService.signUp consults, for this request, once it knows whether the email is taken. */
  admission: (request: FastifyRequest, reply: FastifyReply) => SignUpAdmission
}

// One message for both budgets: which one ran out says nothing about the email either.
const message = 'Too many sign-up attempts from this address'

/** Route hooks for POST /sign-up; a limit of 0 is off. @fastify/rate-limit must be registered on app. */
export function signUpThrottle(app: FastifyInstance, limits: SignUpLimits): SignUpThrottle {
  const limiter = (max: number, scope: string) =>
    max > 0 ? app.createRateLimit({ max, timeWindow: limits.windowMs, keyGenerator: scoped(scope) }) : undefined
  const perIp = limiter(limits.perIp, 'sign-up')
  const taken = limiter(limits.takenPerIp, 'sign-up-taken')
  return {
    onRequest: (request, reply) => check(perIp, request, reply, message),
    admission: (request, reply) => async (emailTaken) => {
      if (!taken) return
      // A taken email is counted before it is answered; a free one only looks. Both are refused once the
      // budget is spent, so a 429 never tells a taken email from a free one, even for requests sent at once.
      const result = await taken(request, { increment: emailTaken })
      if (result.isAllowed) return
      if (emailTaken ? result.isExceeded : result.remaining === 0)
        refuse(reply, result.max, result.ttlInSeconds, message)
    }
  }
}
