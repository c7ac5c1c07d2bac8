// Access tokens minted by the runner with the server's JWT_SECRET, so POST /tweet load needs no logins.
import { createHmac } from 'node:crypto'

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url')

/** An HS256 JWT carrying the claims the app requires ({ user_id, exp }), valid for an hour. */
export function mintToken(secret: string, userId: number): string {
  const now = Math.floor(Date.now() / 1000)
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))
  const payload = base64url(JSON.stringify({ user_id: userId, iat: now, exp: now + 3600 }))
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')
  return `${header}.${payload}.${signature}`
}
