// Personal access tokens for machine clients: made and revoked by their owner, shown once, checked on
// every request that sends one (view/auth.ts). A 'read' token may only read.
import { createHash, randomBytes } from 'node:crypto'
import type { PersonalTokenDao, PersonalTokenRow } from '../model/personal-token-dao.ts'
import { Conflict, Invalid, NotFound, Unauthorized } from './errors.ts'
import { codePoints, maxPersonalTokenName, maxPersonalTokens } from './limits.ts'

/** What every personal token starts with: it tells one from a login token (a JWT) at a glance. */
export const personalTokenPrefix = 'mnt_'

export type Scope = 'read' | 'write'

export interface PersonalToken {
  id: number
  name: string
  /** ["read"], or ["read", "write"]. */
  scopes: Scope[]
  created_at: Date
}

/** Who a personal token acts for, and what it may do. */
export interface PersonalTokenGrant {
  id: number
  user_id: number
  scope: Scope
}

/** A stored token as the API lists it: its scope spelled as the scopes it grants. */
const toPersonalToken = (row: PersonalTokenRow): PersonalToken => ({
  id: row.id,
  name: row.name,
  scopes: row.scope === 'write' ? ['read', 'write'] : ['read'],
  created_at: row.created_at
})
const hashOf = (secret: string) => createHash('sha256').update(secret).digest()

export class PersonalTokenService {
  constructor(private readonly tokenDao: PersonalTokenDao) {}

  /**
   * A new token of userId's: `scopes` is ["read"] or ["read", "write"] (in any order); the secret is in
   * the answer only. At most maxPersonalTokens per account (Conflict beyond).
   */
  async create(userId: number, name: string, scopes: string[]): Promise<PersonalToken & { token: string }> {
    const trimmed = name.trim()
    if (trimmed.length === 0 || codePoints(trimmed) > maxPersonalTokenName) {
      throw new Invalid(`A token's name must be 1 to ${maxPersonalTokenName} characters`, { field: 'name' })
    }
    const wanted = new Set(scopes)
    if (!wanted.has('read') || [...wanted].some((scope) => scope !== 'read' && scope !== 'write')) {
      throw new Invalid('scopes must be ["read"] or ["read", "write"]', { field: 'scopes' })
    }
    const scope: Scope = wanted.has('write') ? 'write' : 'read'
    const token = `${personalTokenPrefix}${randomBytes(32).toString('base64url')}`
    const made = await this.tokenDao.insert(userId, trimmed, scope, hashOf(token), maxPersonalTokens)
    if ('full' in made) {
      if (!made.full) throw new Unauthorized('The account of this token no longer exists')
      throw new Conflict(`An account may hold at most ${maxPersonalTokens} tokens: revoke one first`, {
        field: 'tokens'
      })
    }
    return { ...toPersonalToken((await this.tokenDao.byId(userId, made.id))!), token }
  }

  /** The account's tokens, newest first, without their secrets. */
  async list(userId: number): Promise<PersonalToken[]> {
    return (await this.tokenDao.list(userId)).map(toPersonalToken)
  }

  /** Revokes one of userId's tokens at once; another user's, or an unknown one, is NotFound. */
  async revoke(userId: number, id: number): Promise<void> {
    if (!(await this.tokenDao.remove(userId, id))) throw new NotFound('Token not found', { token_id: id })
  }

  /**
   * What a personal token sent with a request grants: undefined for one that does not exist (never did,
   * or revoked one by one), 'revoked' for one its account revoked with all its tokens.
   */
  async grant(token: string): Promise<PersonalTokenGrant | 'revoked' | undefined> {
    const found = await this.tokenDao.grant(hashOf(token))
    if (!found) return undefined
    if (!found.current) return 'revoked'
    return { id: found.id, user_id: found.user_id, scope: found.scope }
  }
}
