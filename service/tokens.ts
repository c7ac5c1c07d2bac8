// Access tokens: HS256 JWTs carrying { user_id, iat, exp }, signed here and verified by view/auth.ts.
import { createSigner } from 'fast-jwt'
import type { TokenSigner } from './user-service.ts'

/** Signs with the secret view/auth.ts verifies with; `expiresInSeconds` becomes the `exp` claim. */
export function createTokenSigner(secret: string, expiresInSeconds: number): TokenSigner {
  const sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: expiresInSeconds * 1000 })
  return { sign: (payload) => sign(payload) }
}
