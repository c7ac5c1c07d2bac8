// Zod schemas shared by several routes, and the one mapping per API shape (service values → bodies).
import { z } from 'zod'
import {
  defaultPageSize,
  maxNameLength,
  maxPageSize,
  maxProfileLength,
  maxUsernameLength,
  minUsernameLength,
  usernamePattern
} from '../service/limits.ts'
import type { ThreadItem, TweetItem } from '../service/tweet-service.ts'
import type { Profile, UserRow } from '../service/user-service.ts'
import type { ListedUser, UserSummary } from '../service/follow-service.ts'
import type { MediaItem } from '../service/media-service.ts'

const positive = (max: number) =>
  z.coerce
    .number({ error: 'must be a positive integer' })
    .int('must be a positive integer')
    .min(1, 'must be a positive integer')
    .max(max, 'is too large')

/** users.id is INT UNSIGNED. */
export const maxUserId = 2 ** 32 - 1

// Ids as their columns hold them: users.id is INT UNSIGNED; tweets.id and media.id are BIGINT UNSIGNED,
// of which JavaScript numbers hold exactly up to 2^53 - 1.
export const userId = positive(maxUserId)
export const tweetId = positive(Number.MAX_SAFE_INTEGER)
export const mediaId = positive(Number.MAX_SAFE_INTEGER)

export const userIdParams = z.object({ user_id: userId })
export const tweetIdParams = z.object({ id: tweetId })
export const mediaIdParams = z.object({ id: mediaId })
/** A personal access token's id (INT UNSIGNED, like a user's). */
export const tokenIdParams = z.object({ id: positive(maxUserId) })

const pageLimitMessage = `must be an integer from 1 to ${maxPageSize}`

/** ?limit (1–maxPageSize, default defaultPageSize) and ?before=<id> (keyset: only items older than that id). */
export const pageQuery = z.object({
  limit: z.coerce
    .number({ error: pageLimitMessage })
    .int(pageLimitMessage)
    .min(1, pageLimitMessage)
    .max(maxPageSize, pageLimitMessage)
    .default(defaultPageSize),
  // A cursor of any listing (tweet, user or media ids): every id fits below 2^53.
  before: positive(Number.MAX_SAFE_INTEGER).optional()
})

/**
 * pageQuery plus ?after=<cursor> (towards newer: the `limit` items immediately newer than it, newest first);
 * with both, only items between the two (filling a gap). For timelines, an author's tweets, likes.
 */
export const twoWayPageQuery = pageQuery.extend({
  after: z.coerce
    .number({ error: 'must be a non-negative integer' })
    .int('must be a non-negative integer')
    .min(0, 'must be a non-negative integer')
    .max(Number.MAX_SAFE_INTEGER, 'is too large')
    .optional()
    .describe('Only items newer than this cursor (a prev_cursor, or the newest cursor you hold)')
})

/** A user's name, trimmed (POST /sign-up, PUT /users/me). */
export const userName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(maxNameLength, `must be at most ${maxNameLength} characters`)

const usernameLengths = `must be ${minUsernameLength} to ${maxUsernameLength} characters`

/** What a username is, for the documents of the routes that take one. */
export const usernameRule = `${minUsernameLength}–${maxUsernameLength} letters (A–Z, a–z), digits and _; unique whatever its case, shown as chosen`

/** A username as a client gives it (POST /sign-up, PUT /users/me, GET /users/by-username/:username). */
export const username = z
  .string()
  .min(minUsernameLength, usernameLengths)
  .max(maxUsernameLength, usernameLengths)
  .regex(usernamePattern, 'must hold only letters (A–Z, a–z), digits and _')
  .describe(usernameRule)

export const usernameParams = z.object({ username })

/** A user's profile text (POST /sign-up, PUT /users/me). */
export const profileText = z.string().max(maxProfileLength, `must be at most ${maxProfileLength} characters`)

/** Ids and counts in answers: documented as what they are (the zod default allows negative values). */
export const rowId = z.number().int().min(1)
export const count = z.number().int().min(0)

export const errorBody = z
  .object({ message: z.string() })
  .catchall(z.unknown())
  .describe('Error: a message naming the problem, plus details where useful')

export const timestamp = z.iso.datetime({ offset: false })

/** A username in answers: the user's handle, unique whatever its case, spelled as its user chose it. */
const usernameOut = z.string().describe('The user’s handle: unique whatever its case, spelled as its user chose it')

export const userBody = z.object({
  id: rowId,
  name: z.string(),
  username: usernameOut,
  email: z.string(),
  profile: z.string(),
  created_at: timestamp
})

export const profileBody = z.object({
  id: rowId,
  name: z.string(),
  username: usernameOut,
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
  username: usernameOut,
  profile: z.string(),
  profile_picture: z.url().nullable()
})

/** A user on a list of people (followers, following, likers), as the caller is shown it. */
export const listedUserBody = userSummaryBody.extend({
  following: z.boolean().describe('Whether the caller follows this user; false without a token')
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
  user: z.object({ id: rowId, name: z.string(), username: usernameOut, profile_picture: z.url().nullable() }),
  media: z.array(mediaItemBody),
  like_count: count,
  liked: z.boolean().describe('Whether the caller likes this tweet; false without a token'),
  in_reply_to: rowId.nullable().describe('The tweet this one replies to; null when it replies to none'),
  reply_count: count.describe('Direct replies that are not deleted'),
  retweet_count: count,
  retweeted: z.boolean().describe('Whether the caller has retweeted it; false without a token'),
  retweeted_by: z
    .object({
      id: rowId.describe("The retweeter's user id"),
      name: z.string(),
      username: usernameOut,
      retweet_id: rowId.describe(
        "The retweet's own id: the item's place on the timeline, and its cursor (poll with ?after= the newest you hold)"
      )
    })
    .nullable()
    .describe('On a timeline, the retweet that put the tweet there (placed by its time); null otherwise'),
  mentions: z
    .array(z.object({ id: rowId, username: usernameOut }))
    .describe(
      'The users the text names as @username (existing ones, case-insensitively, at most 20), in the text’s ' +
        'order, spelled as their owners had chosen when the tweet was posted or last edited'
    )
})

/** A deleted tweet inside a thread: where it hung, so the thread keeps its shape. */
export const deletedTweetBody = z.object({
  id: rowId,
  deleted: z.literal(true),
  in_reply_to: rowId.nullable().describe('The tweet it replied to; null for a thread’s first tweet')
})

export const threadItemBody = z.union([tweetBody, deletedTweetBody])

export const nextCursor = rowId.nullable().describe('Pass as ?before= for the next page; null at the end')
export const prevCursor = rowId
  .nullable()
  .describe(
    'Pass as ?after= for the next newer page; null when nothing newer exists now (on a first page too: ' +
      'poll with the newest cursor you hold as ?after=)'
  )

export function toUserBody(user: UserRow): z.infer<typeof userBody> {
  return {
    id: user.id,
    name: user.name,
    username: user.username,
    email: user.email,
    profile: user.profile,
    created_at: user.created_at.toISOString()
  }
}

export function toProfileBody(profile: Profile): z.infer<typeof profileBody> {
  return { ...profile, created_at: profile.created_at.toISOString() }
}

export const relationshipBody = z
  .object({
    following: z.boolean().describe('You follow the user'),
    followed_by: z.boolean().describe('The user follows you'),
    blocking: z.boolean().describe('You block the user'),
    blocked_by: z.boolean().describe('The user blocks you'),
    muting: z.boolean().describe('You mute the user')
  })
  .describe('How you stand towards the user')

export function toUserSummaryBody(user: UserSummary): z.infer<typeof userSummaryBody> {
  return {
    id: user.id,
    name: user.name,
    username: user.username,
    profile: user.profile,
    profile_picture: user.profile_picture
  }
}

export function toListedUserBody(user: ListedUser): z.infer<typeof listedUserBody> {
  return { ...toUserSummaryBody(user), following: user.following }
}

/**
 * What a tweet's body is made of, for its entity tag (view/conditional.ts): everything in toTweetBody
 * that can change — a field added to the body must be added here, or a client keeps a stale copy.
 * The text changes only with edited_at; created_at, in_reply_to and a media item's type and size never
 * change; reply_count does. File URLs (picture, media) are in whole: their base URL is configuration,
 * which may change between runs.
 */
export function tweetVersion(item: TweetItem): string {
  // Strings that may hold spaces carry their length (usernames cannot), so no two different tweets can
  // spell the same version. Mentions change only with the text, which sets edited_at.
  const { name, username, profile_picture: picture } = item.user
  const media = item.media.map((m) => `${m.id} ${m.url.length}:${m.url}`).join(' ')
  const by = item.retweeted_by
  const likes = `${item.like_count} ${item.liked ? 1 : 0}`
  const replies = `r${item.reply_count}`
  const retweets = `${item.retweet_count} ${item.retweeted ? 1 : 0} ${by === null ? '-' : `${by.id} ${by.retweet_id} ${by.name.length}:${by.name} ${by.username}`}`
  return `${item.id} ${item.edited_at?.getTime() ?? 0} ${name.length}:${name} ${username} ${picture === null ? '-' : `${picture.length}:${picture}`} ${likes} ${media} ${replies} ${retweets}`
}

export function toTweetBody(item: TweetItem): z.infer<typeof tweetBody> {
  return {
    id: item.id,
    user_id: item.user_id,
    tweet: item.tweet,
    created_at: item.created_at.toISOString(),
    edited_at: item.edited_at === null ? null : item.edited_at.toISOString(),
    user: {
      id: item.user.id,
      name: item.user.name,
      username: item.user.username,
      profile_picture: item.user.profile_picture
    },
    media: item.media.map((m) => ({ id: m.id, url: m.url, content_type: m.content_type, size: m.size })),
    like_count: item.like_count,
    liked: item.liked,
    in_reply_to: item.in_reply_to,
    reply_count: item.reply_count,
    retweet_count: item.retweet_count,
    retweeted: item.retweeted,
    retweeted_by:
      item.retweeted_by === null
        ? null
        : {
            id: item.retweeted_by.id,
            name: item.retweeted_by.name,
            username: item.retweeted_by.username,
            retweet_id: item.retweeted_by.retweet_id
          },
    mentions: item.mentions.map((mention) => ({ id: mention.id, username: mention.username }))
  }
}

/** A media item of the caller's (POST /media, GET /media, the export). */
export const mediaBody = z.object({
  id: rowId,
  url: z.url(),
  content_type: z.string(),
  size: count.describe('Bytes'),
  original_name: z.string().nullable(),
  created_at: timestamp
})

export function toMediaBody(item: MediaItem): z.infer<typeof mediaBody> {
  return {
    id: item.id,
    url: item.url,
    content_type: item.content_type,
    size: item.size,
    original_name: item.original_name,
    created_at: item.created_at.toISOString()
  }
}

export function toThreadItemBody(item: ThreadItem): z.infer<typeof threadItemBody> {
  return 'deleted' in item ? { id: item.id, deleted: true, in_reply_to: item.in_reply_to } : toTweetBody(item)
}
