// Conditional GET (RFC 9110 §13.1.2) without hashing response bodies: a read's entity tag is derived
// from what its answer is made of (ids and change stamps), so it is known before the body is built and a
// 304 skips serializing it altogether.
import { hash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'

export const notModifiedBody = z.null().describe('Not modified: the copy named in If-None-Match is current')

/** A weak tag: equal versions give equal tags; the body may differ in bytes (header order, spacing). */
export function weakTag(version: string): string {
  return `W/"${hash('sha1', version, 'base64url')}"`
}

const opaque = (tag: string) => (tag.startsWith('W/') ? tag.slice(2) : tag)

/** Sets the ETag, and says whether the client's If-None-Match already holds it (then answer 304). */
export function notModified(request: FastifyRequest, reply: FastifyReply, tag: string): boolean {
  reply.header('etag', tag)
  const header = request.headers['if-none-match']
  if (!header) return false
  // If-None-Match compares weakly: W/"x" matches "x".
  return header.split(',').some((candidate) => {
    const trimmed = candidate.trim()
    return trimmed === '*' || opaque(trimmed) === opaque(tag)
  })
}
