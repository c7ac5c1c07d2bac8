// An account's data, for GET /users/me/export: the profile, then every tweet, follow, follower, like and
// media item, read a page at a time (each list through the same service calls as its own route), so an
// export of any size holds one page in memory.
import type { FollowService, ListedUser } from './follow-service.ts'
import type { LikeService } from './like-service.ts'
import type { MediaItem, MediaService } from './media-service.ts'
import type { Page } from './page.ts'
import type { TweetItem, TweetService } from './tweet-service.ts'
import type { Profile, UserService } from './user-service.ts'

/** The largest page each list allows: the fewest round trips. */
const pageSize = 100

/** One piece of an export, in the order the document lists them; a list comes in one part per page. */
export type ExportPart =
  | { part: 'profile'; profile: Profile }
  | { part: 'tweets' | 'likes'; items: TweetItem[] }
  | { part: 'following' | 'followers'; items: ListedUser[] }
  | { part: 'media'; items: MediaItem[] }

/** The lists of an export, in their order. */
export const exportLists = ['tweets', 'following', 'followers', 'likes', 'media'] as const

export class ExportService {
  constructor(
    private readonly users: UserService,
    private readonly tweets: TweetService,
    private readonly follows: FollowService,
    private readonly likes: LikeService,
    private readonly media: MediaService
  ) {}

  /**
   * The account's data as it stands while it is read (each page is read when the previous one has been
   * consumed): the caller's own view of it, flags included. NotFound for an account that is gone.
   */
  async *export(userId: number): AsyncGenerator<ExportPart> {
    yield { part: 'profile', profile: await this.users.profile(userId, true) }
    yield* pages('tweets', (before) => this.tweets.tweetsBy(userId, { limit: pageSize, before }, userId))
    yield* pages('following', (before) => this.follows.following(userId, { limit: pageSize, before }, userId))
    yield* pages('followers', (before) => this.follows.followers(userId, { limit: pageSize, before }, userId))
    yield* pages('likes', (before) => this.likes.likedTweets(userId, { limit: pageSize, before }, userId))
    yield* pages('media', (before) => this.media.mediaOf(userId, { limit: pageSize, before }))
  }
}

/** Every page of a list, newest first, following next_cursor to the end. */
async function* pages<P extends ExportPart['part'], T>(
  part: P,
  read: (before: number | undefined) => Promise<Page<T>>
): AsyncGenerator<{ part: P; items: T[] }> {
  let before: number | undefined
  do {
    const page = await read(before)
    yield { part, items: page.items }
    before = page.next_cursor ?? undefined
  } while (before !== undefined)
}
