// Zod schemas shared by several routes, and the one mapping per API shape (service values → bodies).
import type { FastifyRequest } from 'fastify'
import { z } from 'zod'
import type { TweetItem } from '../service/tweet-service.ts'
import type { Profile, UserRow } from '../service/user-service.ts'
import type { UserSummary } from '../service/follow-service.ts'

const positive = (max: number) =>
  z.coerce
    .number({ error: 'must be a positive integer' })
    .int('must be a positive integer')
    .min(1, 'must be a positive integer')
    .max(max, 'is too large')

/** users.id is INT UNSIGNED. */
export const maxUserId = 2 ** 32 - 1

export const id = positive(maxUserId)
export const tweetId = positive(Number.MAX_SAFE_INTEGER)

export const userIdParams = z.object({ user_id: id })
export const idParams = z.object({ id: tweetId })

/** ?limit (default 20, 1–100) and ?before=<id> (keyset: only items older than that id). */
export const pageQuery = z.object({
  limit: z.coerce
    .number({ error: 'must be an integer from 1 to 100' })
    .int('must be an integer from 1 to 100')
    .min(1, 'must be an integer from 1 to 100')
    .max(100, 'must be an integer from 1 to 100')
    .default(20),
  before: tweetId.optional()
})

/** Ids and counts in answers: documented as what they are (the zod default allows negative values). */
export const rowId = z.number().int().min(1)
export const count = z.number().int().min(0)

export const errorBody = z
  .object({ message: z.string() })
  .catchall(z.unknown())
  .describe('Error: a message naming the problem, plus details where useful')

export const timestamp = z.iso.datetime({ offset: false })

export const userBody = z.object({
  id: rowId,
  name: z.string(),
  email: z.string(),
  profile: z.string(),
  created_at: timestamp
})

export const profileBody = z.object({
  id: rowId,
  name: z.string(),
  email: z.string().optional().describe('Only in the user’s own profile'),
  profile: z.string(),
  profile_picture: z.url().nullable(),
  created_at: timestamp,
  followers_count: count,
  following_count: count,
  tweets_count: count
})

export const userSummaryBody = z.object({
  id: rowId,
  name: z.string(),
  profile: z.string(),
  profile_picture: z.url().nullable()
})

export const mediaItemBody = z.object({
  id: rowId,
  url: z.url(),
  content_type: z.string(),
  size: count.describe('Bytes')
})

export const tweetBody = z.object({
  id: rowId,
  user_id: rowId,
  tweet: z.string(),
  created_at: timestamp,
  edited_at: timestamp.nullable(),
  user: z.object({ id: rowId, name: z.string(), profile_picture: z.url().nullable() }),
  media: z.array(mediaItemBody)
})

export const nextCursor = rowId.nullable().describe('Pass as ?before= for the next page; null at the end')

/** Makes storage URLs absolute: PUBLIC_URL when configured, else this request's own origin. */
export type Absolute = (url: string) => string

export function absoluteUrl(request: FastifyRequest, url: string, publicUrl: string | undefined): string {
  if (/^https?:\/\//.test(url)) return url
  return `${publicUrl ?? `${request.protocol}://${request.host}`}${url}`
}

export function absolute(request: FastifyRequest, publicUrl: string | undefined): Absolute {
  return (url) => absoluteUrl(request, url, publicUrl)
}

export function toUserBody(user: UserRow): z.infer<typeof userBody> {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    profile: user.profile,
    created_at: user.created_at.toISOString()
  }
}

export function toProfileBody(profile: Profile, abs: Absolute): z.infer<typeof profileBody> {
  return {
    ...profile,
    profile_picture: profile.profile_picture === null ? null : abs(profile.profile_picture),
    created_at: profile.created_at.toISOString()
  }
}

export function toUserSummaryBody(user: UserSummary, abs: Absolute): z.infer<typeof userSummaryBody> {
  return { ...user, profile_picture: user.profile_picture === null ? null : abs(user.profile_picture) }
}

/**
 * What a tweet's body is made of, for its entity tag (view/conditional.ts): everything in toTweetBody
 * that can change — a field added to the body must be added here, or a client keeps a stale copy.
 * The text changes only with edited_at; created_at and a media item's url, type and size never change.
 */
export function tweetVersion(item: TweetItem): string {
  // Texts carry their length, so no two different tweets can spell the same version.
  const { name, profile_picture: picture } = item.user
  const media = item.media.map((m) => m.id).join(',')
  return `${item.id} ${item.edited_at?.getTime() ?? 0} ${name.length}:${name} ${picture === null ? '-' : `${picture.length}:${picture}`} ${media}`
}

export function toTweetBody(item: TweetItem, abs: Absolute): z.infer<typeof tweetBody> {
  return {
    id: item.id,
    user_id: item.user_id,
    tweet: item.tweet,
    created_at: item.created_at.toISOString(),
    edited_at: item.edited_at === null ? null : item.edited_at.toISOString(),
    user: {
      id: item.user.id,
      name: item.user.name,
      profile_picture: item.user.profile_picture === null ? null : abs(item.user.profile_picture)
    },
    media: item.media.map((m) => ({ id: m.id, url: abs(m.url), content_type: m.content_type, size: m.size }))
  }
}
