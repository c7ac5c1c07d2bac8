// Access tokens: HS256 JWTs carrying { user_id, ver, jti, iat, exp }, signed here and verified by view/auth.ts:
// `ver` is the account's token version when it was issued, `jti` its own id (both revoke it: UserService).
import { randomBytes } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import type { TokenSigner } from './user-service.ts'

/** Signs with the secret view/auth.ts verifies with; `expiresInSeconds` becomes the `exp` claim. */
export function createTokenSigner(secret: string, expiresInSeconds: number): TokenSigner {
  const sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: expiresInSeconds * 1000 })
  return { sign: (payload) => sign({ ...payload, jti: randomBytes(16).toString('base64url') }) }
}
