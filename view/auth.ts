// Authentication: verifies the JWT (bare or "Bearer") and exposes user_id, for routes that need a caller
// (authenticate) and for public routes whose answer depends on who asks (optionalAuthenticate).
import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Forbidden, Unauthorized } from '../service/errors.ts'
import {
  personalTokenPrefix,
  type PersonalTokenGrant,
  type PersonalTokenService
} from '../service/personal-token-service.ts'
import type { UserService } from '../service/user-service.ts'
import { maxUserId } from './schemas.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** What a personal access token grants (PersonalTokenService.grant), for authenticate. */
    grantPersonalToken(token: string): Promise<PersonalTokenGrant | 'revoked' | undefined>
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { user_id: number }
    /**
     * ver and jti: absent from tokens issued before revocable sessions (service/tokens.ts). personal_token:
     * set when the caller sent a personal access token instead of a login token (exp is 0 then).
     */
    user: {
      user_id: number
      exp: number
      ver?: number
      jti?: string
      personal_token?: { id: number; scope: 'read' | 'write' }
    }
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
export async function registerAuth(
  app: FastifyInstance,
  secret: string,
  userService: UserService,
  personalTokens: PersonalTokenService
): Promise<void> {
  app.decorate('grantPersonalToken', (token: string) => personalTokens.grant(token))
  await app.register(fastifyJwt, {
    secret,
    verify: { algorithms: ['HS256'], requiredClaims: ['exp', 'user_id'], extractToken: tokenFromHeader },
    trusted: trustedToken((userId, version, tokenId) => userService.tokenStatus(userId, version, tokenId))
  })
}

/** Methods a 'read' personal token may use: every other one writes. */
const readMethods = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * onRequest hook for authenticated routes: runs before body parsing, so 401 comes before 400. A login
 * token (a JWT) or a personal access token (`mnt_…`): one lookup either way.
 */
export async function authenticate(request: FastifyRequest): Promise<void> {
  const token = tokenFromHeader(request)
  if (!token) throw new Unauthorized('Authorization header is missing')
  if (token.startsWith(personalTokenPrefix)) return authenticatePersonal(request, token)
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

async function authenticatePersonal(request: FastifyRequest, token: string): Promise<void> {
  const grant = await request.server.grantPersonalToken(token)
  if (grant === undefined) throw new Unauthorized('Authorization token is invalid')
  if (grant === 'revoked') throw new Unauthorized('Authorization token has been revoked')
  request.user = { user_id: grant.user_id, exp: 0, personal_token: { id: grant.id, scope: grant.scope } }
  if (grant.scope === 'read' && !readMethods.has(request.method)) {
    throw new Forbidden('This personal access token may only read', { scope: 'read' })
  }
}

/**
 * onRequest hook, after authenticate, for the routes that manage the account's access (tokens, the
 * password, logging out everywhere): a machine client's personal token may not use them.
 */
export async function loginTokenOnly(request: FastifyRequest): Promise<void> {
  if (request.user.personal_token) {
    throw new Forbidden('This route needs a login token, not a personal access token', { scope: 'login' })
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
