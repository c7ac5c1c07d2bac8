// Authentication for routes that need a caller: verifies the JWT (bare or "Bearer") and exposes user_id.
import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Unauthorized } from '../service/errors.ts'
import type { UserService } from '../service/user-service.ts'
import { maxUserId } from './schemas.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route's service refuses a deleted account itself, in the same statement as its write
     * (POST /tweet): the per-request account lookup is skipped there, a round trip saved.
     */
    accountCheckedByService?: boolean
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { user_id: number }
    user: { user_id: number; exp: number }
  }
}

/** The Authorization header carries either the bare token (the book's clients) or "Bearer <token>". */
export function tokenFromHeader(request: FastifyRequest): string {
  const header = request.headers.authorization?.trim() ?? ''
  const bearer = /^Bearer\s+(\S+)$/i.exec(header)
  return bearer ? bearer[1] : header
}

/** A user id as the users table holds it: an integer from 1 to INT UNSIGNED's maximum. */
function isUserId(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= maxUserId
}

/**
 * @fastify/jwt's `trusted` check, run on a token whose signature and exp are good: a user_id of any other
 * shape (a string, a float, an object…) is an invalid token, refused before any lookup; otherwise the
 * account must still exist, unless the route's own write refuses a missing account.
 */
function trustedToken(accountExists: (userId: number) => Promise<boolean>) {
  return async (request: FastifyRequest, token: { user_id?: unknown }): Promise<boolean> => {
    if (!isUserId(token.user_id)) throw new Unauthorized('Authorization token is invalid')
    return request.routeOptions.config.accountCheckedByService === true || accountExists(token.user_id)
  }
}

/**
 * Token verification for `authenticate` (service/tokens.ts signs them). A deleted account's tokens stop
 * working at once: one primary-key lookup per authenticated request, unless the route's own write refuses
 * a missing account (config `accountCheckedByService`).
 */
export async function registerAuth(app: FastifyInstance, secret: string, userService: UserService): Promise<void> {
  await app.register(fastifyJwt, {
    secret,
    verify: { algorithms: ['HS256'], requiredClaims: ['exp', 'user_id'], extractToken: tokenFromHeader },
    trusted: trustedToken((userId) => userService.exists(userId))
  })
}

/** onRequest hook for authenticated routes: runs before body parsing, so 401 comes before 400. */
export async function authenticate(request: FastifyRequest): Promise<void> {
  if (!tokenFromHeader(request)) throw new Unauthorized('Authorization header is missing')
  try {
    await request.jwtVerify()
  } catch (error) {
    const code = (error as { code?: string }).code ?? ''
    // Only a bad token is the caller's fault: a failed account lookup (database down) must stay a 503.
    if (!/^(FST|FAST)_JWT_/.test(code)) throw error
    if (code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED') throw new Unauthorized('Authorization token has expired')
    if (code === 'FST_JWT_AUTHORIZATION_TOKEN_UNTRUSTED')
      throw new Unauthorized('The account of this token no longer exists')
    throw new Unauthorized('Authorization token is invalid')
  }
}

export const bearerSecurity = [{ bearerAuth: [] }]
