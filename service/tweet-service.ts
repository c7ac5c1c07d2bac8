// Tweets and timelines: posting (recorded in one short transaction; fan-out to followers runs behind
// the request, see fanout-service.ts), editing, deleting, reading.
import type { Transactor, PoolConnection } from '../model/database.ts'
import type { FollowDao } from '../model/follow-dao.ts'
import type { AuthorHeadRow, AuthorRange, TimelineDao, TimelineEntryRow } from '../model/timeline-dao.ts'
import {
  ReplyParentMissing,
  type PostedTweetRow,
  type ThreadLinkRow,
  type TweetDao,
  type TweetRow
} from '../model/tweet-dao.ts'
import type { UserDao } from '../model/user-dao.ts'
import { Forbidden, Invalid, NotFound, Unauthorized } from './errors.ts'
import {
  codePoints,
  maxThreadAncestors,
  maxThreadDepth,
  maxThreadDescendants,
  maxTweetLength,
  threadScanRows
} from './limits.ts'
import { pageOf, rowsToRead, type Page, type PageRequest } from './page.ts'
import type { Storage } from './storage/storage.ts'

export interface TweetMediaItem {
  id: number
  url: string
  content_type: string
  size: number
}

/** What tweets need from media: attaching uploads to a new tweet, and listing them for many tweets. */
export interface TweetMediaSource {
  attachToTweet(connection: PoolConnection, tweetId: number, userId: number, mediaIds: number[]): Promise<void>
  mediaForTweets(tweetIds: number[]): Promise<Map<number, TweetMediaItem[]>>
}

export interface TweetItem {
  id: number
  user_id: number
  tweet: string
  created_at: Date
  edited_at: Date | null
  user: { id: number; name: string; profile_picture: string | null }
  media: TweetMediaItem[]
  in_reply_to: number | null
  reply_count: number
}

/** A tweet of a thread that can no longer be shown (deleted): where it hung, so the thread keeps its shape. */
export interface DeletedTweet {
  id: number
  in_reply_to: number | null
  deleted: true
}

export type ThreadItem = TweetItem | DeletedTweet

/** A tweet's thread: the tweets above it, oldest first, and below it, in thread order. */
export interface TweetContext {
  ancestors: ThreadItem[]
  descendants: ThreadItem[]
}

/** Told after each post, so an idle fan-out worker in this process starts at once. */
export interface FanoutWaker {
  wake(): void
}

export interface TimelineSettings {
  /** Above this many followers an account's tweets are read by followers instead of copied to them. */
  fanoutMaxFollowers: number
}

const newest = Number.MAX_SAFE_INTEGER

/**
 * Accounts per direct-read statement. Each account is a subquery of a UNION, and the server's cost
 * per subquery grows with their number: 50 measured cheapest (about 40 µs each, against 300 µs in
 * a UNION of 1,000).
 */
const rangesPerStatement = 50

/**
 * Above this many accounts to read directly, a page below a cursor first walks the newest tweets
 * themselves: with that many followees, timeline tweets are usually dense among all tweets.
 */
const walkAboveRanges = 100

/** Refuses a text the tweets table cannot hold, or holding nothing but white space. */
function checkTweetText(text: string): void {
  if (text.trim().length === 0) throw new Invalid('A tweet must not be empty', { field: 'tweet' })
  if (codePoints(text) > maxTweetLength) {
    throw new Invalid(`A tweet must be at most ${maxTweetLength} characters`, { field: 'tweet' })
  }
}

/** Who may change a tweet: it must exist (else NotFound), and be the caller's (else Forbidden). */
function assertChangeable(userId: number, tweetId: number, authorId: number | undefined): void {
  if (authorId === undefined) throw new NotFound('Tweet not found', { tweet_id: tweetId })
  if (authorId !== userId) throw new Forbidden('Only the author can change this tweet', { tweet_id: tweetId })
}

/** The newest `count` distinct tweets of two newest-first lists. */
function mergeNewest(a: TweetRow[], b: TweetRow[], count: number): TweetRow[] {
  const byId = new Map<number, TweetRow>()
  for (const row of [...a, ...b]) byId.set(row.id, row)
  return [...byId.values()].sort((x, y) => y.id - x.id).slice(0, count)
}

export class TweetService {
  constructor(
    private readonly transactor: Transactor,
    private readonly tweetDao: TweetDao,
    private readonly timelineDao: TimelineDao,
    private readonly userDao: UserDao,
    private readonly followDao: FollowDao,
    private readonly storage: Storage,
    private readonly media: TweetMediaSource | undefined,
    private readonly fanout: FanoutWaker
  ) {}

  /**
   * Records the tweet, the author's counter and own timeline entry and the fan-out record in one
   * transaction (one round trip without media), and answers from what that returned: no read-back.
   */
  async tweet(
    userId: number,
    text: string,
    mediaIds: number[] = [],
    inReplyTo: number | null = null
  ): Promise<TweetItem> {
    checkTweetText(text)
    let posted: PostedTweetRow | undefined
    try {
      posted =
        mediaIds.length === 0
          ? await this.transactor.retrying(() => this.tweetDao.postTweet(userId, text, inReplyTo))
          : await this.transactor.run((connection) => this.postWithMedia(connection, userId, text, mediaIds, inReplyTo))
    } catch (error) {
      if (error instanceof ReplyParentMissing) {
        throw new NotFound('The tweet in_reply_to names does not exist', { in_reply_to: error.inReplyTo })
      }
      throw error
    }
    if (!posted) throw new Unauthorized('The account of this token no longer exists')
    // The parent's reply_count changed: a cached copy must not answer the old one.
    if (inReplyTo !== null) this.tweetDao.forgetTweet(inReplyTo)
    this.fanout.wake()
    this.userDao.rememberAuthor({ id: userId, name: posted.name, profile_picture: posted.profile_picture })
    const row: TweetRow = {
      id: posted.id,
      user_id: userId,
      tweet: text,
      created_at: posted.created_at,
      edited_at: null,
      media_count: mediaIds.length,
      in_reply_to: inReplyTo,
      conversation_id: posted.conversation_id,
      reply_count: 0
    }
    this.tweetDao.rememberTweet(row)
    return (await this.toItems([row]))[0]
  }

  private async postWithMedia(
    connection: PoolConnection,
    userId: number,
    text: string,
    mediaIds: number[],
    inReplyTo: number | null
  ): Promise<PostedTweetRow | undefined> {
    if (!this.media) throw new NotFound('Media are not available')
    const posted = await this.tweetDao.postTweetIn(connection, userId, text, inReplyTo)
    if (!posted) return undefined
    await this.media.attachToTweet(connection, posted.id, userId, mediaIds)
    await this.tweetDao.addMediaCount(connection, posted.id, mediaIds.length)
    return posted
  }

  async tweetById(id: number): Promise<TweetItem> {
    const row = await this.tweetDao.tweetById(id)
    const [item] = row ? await this.toItems([row]) : []
    if (!item) throw new NotFound('Tweet not found', { tweet_id: id })
    return item
  }

  async editTweet(userId: number, id: number, text: string): Promise<TweetItem> {
    checkTweetText(text)
    await this.transactor.run(async (connection) => {
      await this.assertAuthor(connection, userId, id)
      await this.tweetDao.updateTweet(connection, id, text)
    })
    this.tweetDao.forgetTweet(id)
    return this.tweetById(id)
  }

  /**
   * Deletes the tweet; its replies stay. A reply leaves a tombstone (where it hung) and is taken off its
   * parent's reply_count, in the same transaction. Locks go from the tweet to its parent to the author's
   * row, the order a reply's post takes too (parent, then author).
   */
  async deleteTweet(userId: number, id: number): Promise<void> {
    const parent = await this.transactor.run(async (connection) => {
      const tweet = await this.tweetDao.lockForDelete(connection, id)
      assertChangeable(userId, id, tweet?.user_id)
      const { in_reply_to: inReplyTo, conversation_id: conversationId } = tweet!
      if (inReplyTo !== null) {
        await this.tweetDao.addReplyCount(connection, inReplyTo, -1)
        await this.tweetDao.addTombstone(connection, id, inReplyTo, conversationId ?? inReplyTo)
      }
      await this.tweetDao.deleteTweet(connection, id)
      await this.userDao.addTweetsCount(connection, userId, -1)
      return inReplyTo
    })
    this.tweetDao.forgetTweet(id)
    if (parent !== null) this.tweetDao.forgetTweet(parent)
  }

  /**
   * The thread around a tweet (docs/performance.md "Threads"). Ancestors: up the chain of parents, at
   * most maxThreadAncestors (the nearest), oldest first. Descendants: found among the threadScanRows
   * tweets of the conversation that follow it (one index range), at most maxThreadDepth levels below it
   * and the oldest maxThreadDescendants of those, in thread order: depth first, oldest first among
   * siblings. A deleted tweet is a placeholder where it keeps the thread's shape: on the chain above, or
   * above a tweet shown below; one with nothing shown below it is left out, like a deleted tweet anywhere.
   */
  async context(id: number): Promise<TweetContext> {
    const tweet = await this.tweetDao.tweetById(id)
    if (!tweet) throw new NotFound('Tweet not found', { tweet_id: id })
    const [above, following] = await Promise.all([
      tweet.in_reply_to === null ? [] : this.tweetDao.ancestors(tweet.in_reply_to, maxThreadAncestors),
      this.tweetDao.conversationAfter(tweet.conversation_id ?? tweet.id, tweet.id, threadScanRows)
    ])
    const below = threadBelow(tweet.id, following)
    const live = [...above, ...below].filter((link) => !link.deleted).map((link) => link.id)
    const rows = await this.tweetDao.tweetsByIds(live)
    const items = new Map(
      (await this.toItems(live.flatMap((linkId) => rows.get(linkId) ?? []))).map((item) => [item.id, item])
    )
    // A tweet deleted, or whose author was, since the links were read is shown as deleted too.
    const show = (link: ThreadLinkRow): ThreadItem =>
      items.get(link.id) ?? { id: link.id, in_reply_to: link.in_reply_to, deleted: true }
    return { ancestors: above.map(show), descendants: below.map(show) }
  }

  /**
   * An author's own tweets and replies, newest first, keyset-paged: one range of the (user_id, id) index.
   */
  async tweetsBy(userId: number, page: PageRequest): Promise<Page<TweetItem>> {
    const wanted = rowsToRead(page)
    const [exists, rows] = await Promise.all([
      this.userDao.exists(userId),
      this.tweetDao.tweetsByAuthor(userId, page.before ?? newest, wanted)
    ])
    if (!exists) throw new NotFound('User not found', { user_id: userId })
    const read = pageOf(rows, page, (row) => row.id)
    return { items: await this.toItems(read.items), next_cursor: read.next_cursor }
  }

  /**
   * The user's own tweets and their followees', newest first. Normally one range read of the
   * timeline table; plus direct reads of the followed 'pull' accounts and, for pages reaching below
   * the horizon, of the accounts whose older tweets the table lacks (their gaps). No page reads more
   * than O(limit × (followees + 1)) rows, whatever the number of tweets (docs/performance.md).
   */
  async timelineFor(userId: number, page: PageRequest): Promise<Page<TweetItem>> {
    const before = page.before ?? newest
    const wanted = rowsToRead(page)
    const { entries, tweets: fromTable } = await this.tablePage(userId, before, wanted)
    // Entries carry the owner's state; an empty page needs it (and the user's existence) asked separately.
    const state = entries[0] ?? (await this.userDao.timelineState(userId))
    if (!state) throw new NotFound('User not found', { user_id: userId })
    // Accounts read directly, each below its own bound (a gap's below_id, or the cursor).
    const direct = new Map<number, number>()
    if (state.pulled_following_count > 0) {
      for (const authorId of await this.followDao.pulledFollowees(userId)) direct.set(authorId, before)
    }
    const horizon = state.timeline_horizon
    if (horizon > 0 && (entries.length < wanted || entries[entries.length - 1].id < horizon)) {
      // The table lacks some followees' tweets below their gaps; gaps entirely below a full page cannot matter.
      const floor = entries.length < wanted ? 0 : entries[entries.length - 1].id
      for (const gap of await this.timelineDao.gaps(userId, floor)) {
        direct.set(gap.author_id, Math.max(direct.get(gap.author_id) ?? 0, Math.min(before, gap.below_id)))
      }
    }
    const ranges = [...direct].map(([authorId, below]) => ({ author_id: authorId, before: below }))
    let rows: TweetRow[] | undefined
    if (ranges.length > walkAboveRanges && page.before !== undefined) {
      // The follow graph over the newest `wanted × accounts` tweets below the cursor: no more rows than
      // the direct reads would cost, and exact whenever that window holds a full page.
      const walked = await this.timelineDao.fromFollowGraph(
        userId,
        Math.max(0, before - wanted * ranges.length),
        before,
        wanted
      )
      if (walked.length === wanted) rows = walked
    }
    rows ??= ranges.length > 0 ? mergeNewest(fromTable, await this.readDirectly(ranges, wanted), wanted) : fromTable
    // The cursor is the last row read, even when its author was deleted meanwhile and it is not shown.
    const read = pageOf(rows, page, (row) => row.id)
    return { items: await this.toItems(read.items), next_cursor: read.next_cursor }
  }

  /**
   * A page of the timeline table: its entries, and their tweets (from TweetDao's cache). A tweet deleted
   * between the two reads takes its entries with it, so the page is read once more; what is still
   * missing then is left out.
   */
  private async tablePage(
    userId: number,
    before: number,
    wanted: number
  ): Promise<{ entries: TimelineEntryRow[]; tweets: TweetRow[] }> {
    let entries: TimelineEntryRow[] = []
    let tweets = new Map<number, TweetRow>()
    for (let attempt = 0; attempt < 2; attempt += 1) {
      entries = await this.timelineDao.page(userId, before, wanted)
      tweets = await this.tweetDao.tweetsByIds(entries.map((entry) => entry.id))
      if (tweets.size === entries.length) break
    }
    const rows: TweetRow[] = []
    for (const entry of entries) {
      const tweet = tweets.get(entry.id)
      if (tweet) rows.push(tweet)
    }
    return { entries, tweets: rows }
  }

  /**
   * The newest `wanted` tweets of the given ranges. Beyond `wanted` accounts, only those whose newest
   * tweet is among the `wanted` newest such tweets can place one on the page (those alone would fill
   * it), so one index lookup per account picks at most `wanted` of them to read in full: the cost is
   * O(accounts + wanted²) rows, not O(accounts × wanted).
   */
  private async readDirectly(ranges: AuthorRange[], wanted: number): Promise<TweetRow[]> {
    let reading = ranges
    if (ranges.length > wanted) {
      let heads: AuthorHeadRow[] = []
      for (let start = 0; start < ranges.length; start += rangesPerStatement) {
        const chunk = await this.timelineDao.newestAuthors(ranges.slice(start, start + rangesPerStatement), wanted)
        heads = [...heads, ...chunk].sort((x, y) => y.id - x.id).slice(0, wanted)
      }
      const authors = new Set(heads.map((head) => head.user_id))
      reading = ranges.filter((range) => authors.has(range.author_id))
    }
    return this.timelineDao.byAuthors(reading, wanted)
  }

  private async assertAuthor(connection: PoolConnection, userId: number, tweetId: number): Promise<void> {
    assertChangeable(userId, tweetId, await this.tweetDao.authorForUpdate(connection, tweetId))
  }

  /** Rows with their authors and media; a row whose author was deleted meanwhile is left out. */
  private async toItems(rows: TweetRow[]): Promise<TweetItem[]> {
    const withMedia = rows.filter((row) => row.media_count > 0).map((row) => row.id)
    const [authors, media] = await Promise.all([
      this.userDao.authors(rows.map((row) => row.user_id)),
      withMedia.length > 0 && this.media ? this.media.mediaForTweets(withMedia) : undefined
    ])
    const items: TweetItem[] = []
    for (const row of rows) {
      const author = authors.get(row.user_id)
      if (!author) continue
      items.push({
        id: row.id,
        user_id: row.user_id,
        tweet: row.tweet,
        created_at: row.created_at,
        edited_at: row.edited_at,
        user: {
          id: row.user_id,
          name: author.name,
          profile_picture: author.profile_picture === null ? null : this.storage.url(author.profile_picture)
        },
        media: media?.get(row.id) ?? [],
        in_reply_to: row.in_reply_to,
        reply_count: row.reply_count
      })
    }
    return items
  }
}

/**
 * The tweets below `rootId` among `following` (tweets of its conversation with higher ids, oldest first),
 * in thread order, within the caps: no deeper than maxThreadDepth below the root, the oldest
 * maxThreadDescendants, and no deleted tweet without a live one below it. A reply is younger than its
 * parent, so one pass in id order meets every parent before its replies, and the oldest N of a subtree
 * always include their parents: cutting by age leaves a whole tree.
 */
function threadBelow(rootId: number, following: ThreadLinkRow[]): ThreadLinkRow[] {
  const depth = new Map<number, number>([[rootId, 0]])
  let nodes: ThreadLinkRow[] = []
  for (const link of following) {
    const parentDepth = link.in_reply_to === null ? undefined : depth.get(link.in_reply_to)
    if (parentDepth === undefined || parentDepth >= maxThreadDepth) continue
    depth.set(link.id, parentDepth + 1)
    nodes.push(link)
  }
  nodes = withoutBareDeleted(nodes).slice(0, maxThreadDescendants)
  nodes = withoutBareDeleted(nodes)
  const children = new Map<number, ThreadLinkRow[]>()
  for (const node of nodes) {
    const siblings = children.get(node.in_reply_to!)
    if (siblings) siblings.push(node)
    else children.set(node.in_reply_to!, [node])
  }
  const ordered: ThreadLinkRow[] = []
  // Depth first without recursion: a stack of the siblings still to visit, oldest on top.
  const stack = [...(children.get(rootId) ?? [])].reverse()
  while (stack.length > 0) {
    const node = stack.pop()!
    ordered.push(node)
    for (const child of [...(children.get(node.id) ?? [])].reverse()) stack.push(child)
  }
  return ordered
}

/** Leaves out deleted tweets with no live tweet below them (nodes in id order, parents first). */
function withoutBareDeleted(nodes: ThreadLinkRow[]): ThreadLinkRow[] {
  const holdsLive = new Set<number>()
  for (let i = nodes.length - 1; i >= 0; i -= 1) {
    const node = nodes[i]
    if (!node.deleted || holdsLive.has(node.id)) holdsLive.add(node.in_reply_to!).add(node.id)
  }
  return nodes.filter((node) => holdsLive.has(node.id))
}
