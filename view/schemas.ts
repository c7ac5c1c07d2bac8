// Zod schemas shared by several routes, and the one mapping per API shape (rows → response bodies).
import type { FastifyRequest } from 'fastify'
import { z } from 'zod'
import type { TweetRow } from '../service/tweet-service.ts'
import type { UserRow } from '../service/user-service.ts'

export const id = z.coerce
  .number({ error: 'must be a positive integer' })
  .int('must be a positive integer')
  .positive('must be a positive integer')
  .max(2 ** 32 - 1, 'is too large')

export const userIdParams = z.object({ user_id: id })

export const errorBody = z
  .object({ message: z.string() })
  .catchall(z.unknown())
  .describe('Error: a message naming the problem, plus details where useful')

export const timestamp = z.iso.datetime({ offset: false })

export const userBody = z.object({
  id: z.number().int(),
  name: z.string(),
  email: z.string(),
  profile: z.string(),
  created_at: timestamp
})

export const tweetBody = z.object({
  id: z.number().int(),
  user_id: z.number().int(),
  tweet: z.string(),
  created_at: timestamp
})

export function toUserBody(user: UserRow): z.infer<typeof userBody> {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    profile: user.profile,
    created_at: user.created_at.toISOString()
  }
}

export function toTweetBody(tweet: TweetRow): z.infer<typeof tweetBody> {
  return { id: tweet.id, user_id: tweet.user_id, tweet: tweet.tweet, created_at: tweet.created_at.toISOString() }
}

/** Absolute form of a storage URL: PUBLIC_URL when configured, else this request's own origin. */
export function absoluteUrl(request: FastifyRequest, url: string, publicUrl: string | undefined): string {
  if (/^https?:\/\//.test(url)) return url
  return `${publicUrl ?? `${request.protocol}://${request.host}`}${url}`
}
