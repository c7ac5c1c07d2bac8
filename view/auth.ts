// Authentication: verifies the JWT (bare or "Bearer") and exposes user_id, for routes that need a caller
// (authenticate) and for public routes whose answer depends on who asks (optionalAuthenticate).
import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Unauthorized } from '../service/errors.ts'
import type { UserService } from '../service/user-service.ts'
import { maxUserId } from './schemas.ts'

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { user_id: number }
    /** ver and jti: absent from tokens issued before revocable sessions (service/tokens.ts). */
    user: { user_id: number; exp: number; ver?: number; jti?: string }
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
 * @fastify/jwt's `trusted` check, run on a token whose signature and exp are good: a user_id, ver or jti of
 * any other shape (a string, a float, an object…) is an invalid token, refused before any lookup; then the
 * account must still exist (else untrusted) and the token must not be revoked (UserService.tokenStatus).
 */
function trustedToken(tokenStatus: UserService['tokenStatus']) {
  return async (_request: FastifyRequest, token: { user_id?: unknown; ver?: unknown; jti?: unknown }) => {
    const version = token.ver ?? 0
    const tokenId = token.jti
    if (
      !isUserId(token.user_id) ||
      !Number.isSafeInteger(version) ||
      (version as number) < 0 ||
      (tokenId !== undefined && (typeof tokenId !== 'string' || tokenId.length === 0 || tokenId.length > 64))
    ) {
      throw new Unauthorized('Authorization token is invalid')
    }
    const status = await tokenStatus(token.user_id, version as number, tokenId)
    if (status === 'revoked') throw new Unauthorized('Authorization token has been revoked')
    return status === 'valid'
  }
}

/**
 * Token verification for `authenticate` (service/tokens.ts signs them). A deleted account's tokens, and
 * revoked ones, stop working at once, on every instance: one primary-key lookup per authenticated request.
 */
export async function registerAuth(app: FastifyInstance, secret: string, userService: UserService): Promise<void> {
  await app.register(fastifyJwt, {
    secret,
    verify: { algorithms: ['HS256'], requiredClaims: ['exp', 'user_id'], extractToken: tokenFromHeader },
    trusted: trustedToken((userId, version, tokenId) => userService.tokenStatus(userId, version, tokenId))
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

/**
 * onRequest hook for public routes whose answer depends on the caller (like flags): without a token the
 * caller is anonymous; a token must be valid, as on authenticated routes (else 401). The answer varies
 * with the Authorization header, so caches must not give one caller's copy to another.
 */
export async function optionalAuthenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  varyOnAuthorization(reply)
  if (tokenFromHeader(request)) await authenticate(request)
}

/** The caller's user id after optionalAuthenticate; undefined when anonymous. */
export function callerId(request: FastifyRequest): number | undefined {
  // @fastify/jwt leaves request.user null until a token is verified.
  return (request.user as FastifyRequest['user'] | null)?.user_id
}

/** Adds Authorization to Vary, keeping what is there (CORS adds Origin). */
function varyOnAuthorization(reply: FastifyReply): void {
  const vary = reply.getHeader('vary')
  if (vary === undefined) {
    reply.header('vary', 'Authorization')
  } else if (!/(^|,)\s*(authorization|\*)\s*(,|$)/i.test(String(vary))) {
    reply.header('vary', `${String(vary)}, Authorization`)
  }
}

export const bearerSecurity = [{ bearerAuth: [] }]

/** OpenAPI for optionalAuthenticate: anonymous ({}) or with the bearer token. */
export const optionalBearerSecurity: Record<string, string[]>[] = [{}, { bearerAuth: [] }]
