// Tweets and timelines: posting (recorded in one short transaction; fan-out to followers runs behind
// the request, see fanout-service.ts), editing, deleting, retweeting, reading.
import type { Transactor, PoolConnection } from '../model/database.ts'
import type { FanoutDao } from '../model/fanout-dao.ts'
import type { NotificationDao } from '../model/notification-dao.ts'
import type { FollowDao } from '../model/follow-dao.ts'
import type { AuthorHeadRow, AuthorRange, TimelineDao, TimelineEntryRow, TimelineRow } from '../model/timeline-dao.ts'
import {
  ReplyParentMissing,
  type PostedTweetRow,
  type ThreadLinkRow,
  type TweetDao,
  type TweetRow
} from '../model/tweet-dao.ts'
import type { FanoutRow, UserDao } from '../model/user-dao.ts'
import { noEvents, type EventPublisher } from './events.ts'
import { Forbidden, Invalid, NotFound, Unauthorized } from './errors.ts'
import {
  codePoints,
  maxThreadAncestors,
  maxThreadDepth,
  maxThreadDescendants,
  maxMentions,
  maxTweetLength,
  mentionPattern,
  threadScanRows
} from './limits.ts'
import { pageOf, rowsToRead, windowOf, type Page, type TwoWayPageRequest, type Window } from './page.ts'
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
  user: { id: number; name: string; username: string; profile_picture: string | null }
  media: TweetMediaItem[]
  like_count: number
  /** Whether the caller (the viewer) likes it; false for an anonymous caller. */
  liked: boolean
  in_reply_to: number | null
  reply_count: number
  retweet_count: number
  /** Whether the viewer (the caller) has retweeted it; false for an anonymous caller. */
  retweeted: boolean
  /**
   * On a timeline, the retweet that put it there: the retweeter, and the retweet's own id, which is the
   * item's place (and cursor) on the timeline; null everywhere else.
   */
  retweeted_by: Retweeter | null
  /** The users its text names as @username, in the text's order, as spelled when it was posted or edited. */
  mentions: Mention[]
}

export interface Mention {
  id: number
  username: string
}

export interface Retweeter {
  id: number
  name: string
  username: string
  retweet_id: number
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

/** The usernames a text mentions, each once (its first spelling, whatever the case), at most maxMentions. */
function mentionedUsernames(text: string): string[] {
  const byKey = new Map<string, string>()
  for (const match of text.matchAll(mentionPattern)) {
    if (byKey.size === maxMentions) break
    const key = match[1].toLowerCase()
    if (!byKey.has(key)) byKey.set(key, match[1])
  }
  return [...byKey.values()]
}

/** TweetRow.mentions for these users: their JSON, or null for none. */
const mentionsColumn = (mentions: Mention[]) => (mentions.length === 0 ? null : JSON.stringify(mentions))

/** Who may change a tweet: it must exist (else NotFound), and be the caller's (else Forbidden). */
function assertChangeable(userId: number, tweetId: number, authorId: number | undefined): void {
  if (authorId === undefined) throw new NotFound('Tweet not found', { tweet_id: tweetId })
  if (authorId !== userId) throw new Forbidden('Only the author can change this tweet', { tweet_id: tweetId })
}

/** The first `count` distinct rows of two lists in the same order (newest first, or oldest first). */
function merge(a: TimelineRow[], b: TimelineRow[], count: number, oldestFirst: boolean): TimelineRow[] {
  const byId = new Map<number, TimelineRow>()
  for (const row of [...a, ...b]) byId.set(row.id, row)
  const sign = oldestFirst ? 1 : -1
  return [...byId.values()].sort((x, y) => sign * (x.id - y.id)).slice(0, count)
}

/** The tweet a timeline row shows: its own, or the one its retweet repeats. */
const shownIdOf = (row: TimelineRow) => row.retweet_of ?? row.id

export class TweetService {
  constructor(
    private readonly transactor: Transactor,
    private readonly tweetDao: TweetDao,
    private readonly timelineDao: TimelineDao,
    private readonly userDao: UserDao,
    private readonly followDao: FollowDao,
    private readonly storage: Storage,
    private readonly media: TweetMediaSource | undefined,
    private readonly fanout: FanoutWaker,
    private readonly fanoutDao: FanoutDao,
    private readonly notificationDao: NotificationDao,
    private readonly events: EventPublisher = noEvents
  ) {}

  /**
   * A row of home timelines (a tweet, or a retweet's row) as each viewer's timeline shows it, for the live
   * stream: viewers it is hidden from (a block either way, a mute) are absent. The item is built once and
   * each viewer's flags come from one statement for all of them, however many viewers.
   */
  async streamItems(rowId: number, viewerIds: readonly number[]): Promise<Map<number, TweetItem>> {
    const shown = new Map<number, TweetItem>()
    const row = (await this.tweetDao.tweetsByIds([rowId])).get(rowId)
    if (!row || viewerIds.length === 0) return shown
    const original =
      row.retweet_of === null ? row : (await this.tweetDao.tweetsByIds([row.retweet_of])).get(row.retweet_of)
    if (!original) return shown
    const retweets = new Map(
      row === original ? [] : [[original.id, { id: row.id, user_id: row.user_id, retweet_of: original.id }]]
    )
    const [item] = await this.toItems([original], undefined, retweets)
    if (!item) return shown
    const flags = await this.tweetDao.viewersFlags(viewerIds, original.id, [
      ...new Set([original.user_id, row.user_id])
    ])
    for (const viewerId of viewerIds) {
      if (flags.hidden.has(viewerId)) continue
      shown.set(viewerId, { ...item, liked: flags.liked.has(viewerId), retweeted: flags.retweeted.has(viewerId) })
    }
    return shown
  }

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
    // A parent hidden from the caller (a block either way) is one they cannot answer: 404, as unknown.
    const parentAuthor = inReplyTo === null ? undefined : await this.replyableParent(inReplyTo, userId)
    const mentions = await this.mentionsIn(text)
    let posted: PostedTweetRow | undefined
    try {
      // A plain tweet is one round trip; a reply (its parent's author is notified), mentions or media need
      // the procedure inside a transaction of the service's.
      posted =
        mediaIds.length === 0 && inReplyTo === null && mentions.length === 0
          ? await this.transactor.retrying(() => this.tweetDao.postTweet(userId, text))
          : await this.transactor.run((connection) =>
              this.postWithin(connection, userId, text, mediaIds, inReplyTo, mentions)
            )
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
    this.events.publish({ type: 'tweet', id: posted.id, author_id: userId, self: true, audience: 'pulled' })
    const notified = [
      ...(parentAuthor !== undefined && parentAuthor !== userId ? [parentAuthor] : []),
      ...mentions.map((mention) => mention.id)
    ]
    if (notified.length > 0) this.events.publish({ type: 'notification', user_ids: notified })
    this.userDao.rememberAuthor({
      id: userId,
      name: posted.name,
      username: posted.username,
      profile_picture: posted.profile_picture
    })
    const row: TweetRow = {
      id: posted.id,
      user_id: userId,
      tweet: text,
      created_at: posted.created_at,
      edited_at: null,
      media_count: mediaIds.length,
      like_count: 0,
      in_reply_to: inReplyTo,
      conversation_id: posted.conversation_id,
      reply_count: 0,
      retweet_of: null,
      retweet_count: 0,
      mentions: mentionsColumn(mentions)
    }
    this.tweetDao.rememberTweet(row)
    return (await this.toItems([row]))[0]
  }

  private async postWithin(
    connection: PoolConnection,
    userId: number,
    text: string,
    mediaIds: number[],
    inReplyTo: number | null,
    mentions: Mention[]
  ): Promise<PostedTweetRow | undefined> {
    if (mediaIds.length > 0 && !this.media) throw new NotFound('Media are not available')
    const posted = await this.tweetDao.postTweetIn(connection, userId, text, inReplyTo)
    if (!posted) return undefined
    if (mediaIds.length > 0) {
      await this.media!.attachToTweet(connection, posted.id, userId, mediaIds)
      await this.tweetDao.addMediaCount(connection, posted.id, mediaIds.length)
    }
    if (inReplyTo !== null) await this.notificationDao.addForReply(connection, posted.id)
    if (mentions.length > 0) {
      await this.tweetDao.setMentions(connection, posted.id, mentionsColumn(mentions)!)
      await this.notificationDao.addForMentions(
        connection,
        posted.id,
        mentions.map((mention) => mention.id)
      )
    }
    return posted
  }

  /** The existing users a text mentions, in its order (a username nobody has is left as text). */
  private async mentionsIn(text: string): Promise<Mention[]> {
    const usernames = mentionedUsernames(text)
    if (usernames.length === 0) return []
    const users = new Map(
      (await this.userDao.usersByUsernames(usernames, true)).map((user) => [user.username.toLowerCase(), user])
    )
    return usernames.flatMap((username) => users.get(username.toLowerCase()) ?? [])
  }

  /**
   * `viewerId`: the caller, whose `liked` and `retweeted` flags the item carries (none: false). A retweet's
   * row is no tweet.
   */
  async tweetById(id: number, viewerId?: number): Promise<TweetItem> {
    const row = await this.tweetDao.tweetById(id)
    const [item] = row ? await this.toItems([row], viewerId) : []
    if (!item) throw new NotFound('Tweet not found', { tweet_id: id })
    return item
  }

  async editTweet(userId: number, id: number, text: string): Promise<TweetItem> {
    checkTweetText(text)
    // Mentions are those of the new text; whoever it names anew is notified, nobody a second time.
    const mentions = await this.mentionsIn(text)
    await this.transactor.run(async (connection) => {
      await this.assertAuthor(connection, userId, id)
      await this.tweetDao.updateTweet(connection, id, text, mentionsColumn(mentions))
      await this.notificationDao.addForMentions(
        connection,
        id,
        mentions.map((mention) => mention.id)
      )
    })
    this.tweetDao.forgetTweet(id)
    return this.tweetById(id, userId)
  }

  /** These tweets in this order, from TweetDao's cache; an id with no tweet (deleted meanwhile) is left out. */
  async tweetsByIds(ids: number[], viewerId?: number): Promise<TweetItem[]> {
    const tweets = await this.tweetDao.tweetsByIds(ids)
    const rows: TweetRow[] = []
    for (const id of ids) {
      const tweet = tweets.get(id)
      if (tweet) rows.push(tweet)
    }
    return this.toItems(rows, viewerId)
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
    this.events.publish({ type: 'delete', id, author_id: userId })
  }

  /**
   * The thread around a tweet (docs/performance.md "Threads"). Ancestors: up the chain of parents, at
   * most maxThreadAncestors (the nearest), oldest first. Descendants: found among the threadScanRows
   * tweets of the conversation that follow it (one index range), at most maxThreadDepth levels below it
   * and the oldest maxThreadDescendants of those, in thread order: depth first, oldest first among
   * siblings. A deleted tweet is a placeholder where it keeps the thread's shape: on the chain above, or
   * above a tweet shown below; one with nothing shown below it is left out, like a deleted tweet anywhere.
   */
  async context(id: number, viewerId?: number): Promise<TweetContext> {
    const tweet = await this.tweetDao.tweetById(id)
    if (!tweet) throw new NotFound('Tweet not found', { tweet_id: id })
    const [above, following] = await Promise.all([
      tweet.in_reply_to === null ? [] : this.tweetDao.ancestors(tweet.in_reply_to, maxThreadAncestors),
      this.tweetDao.conversationAfter(tweet.conversation_id ?? tweet.id, tweet.id, threadScanRows)
    ])
    const below = threadBelow(tweet.id, following)
    const live = [...above, ...below].filter((link) => !link.deleted).map((link) => link.id)
    const rows = await this.tweetDao.tweetsByIds(live)
    // The tweet itself is looked up with the others: a viewer it is hidden from (a block) gets 404.
    const items = new Map(
      (await this.toItems([tweet, ...live.flatMap((linkId) => rows.get(linkId) ?? [])], viewerId)).map((item) => [
        item.id,
        item
      ])
    )
    if (!items.has(tweet.id)) throw new NotFound('Tweet not found', { tweet_id: id })
    // A tweet deleted, or whose author was, since the links were read is shown as deleted too.
    const show = (link: ThreadLinkRow): ThreadItem =>
      items.get(link.id) ?? { id: link.id, in_reply_to: link.in_reply_to, deleted: true }
    return { ancestors: above.map(show), descendants: below.map(show) }
  }

  /**
   * An author's own tweets and replies, newest first, keyset-paged: one range of the (user_id, id) index.
   */
  async tweetsBy(userId: number, page: TwoWayPageRequest, viewerId?: number): Promise<Page<TweetItem>> {
    const wanted = rowsToRead(page)
    const [exists, rows] = await Promise.all([
      this.userDao.exists(userId),
      this.tweetDao.tweetsByAuthor(userId, windowOf(page), wanted)
    ])
    if (!exists) throw new NotFound('User not found', { user_id: userId })
    const read = pageOf(rows, page, (row) => row.id)
    return { ...read, items: await this.toItems(read.items, viewerId) }
  }

  /**
   * Retweets a tweet (idempotent) and answers it as the caller now sees it. One transaction: the tweet
   * locked (NotFound when it is gone or is a retweet's row: retweets of a tweet take turns on its counter),
   * then the retweeter's row, as a post locks its author's (ordering it with follows of the retweeter). The
   * retweet's row, the counter, the retweeter's own timeline entry and the fan-out record are written only
   * when the retweet is new; its followers get it from the worker, like a tweet.
   */
  async retweet(userId: number, tweetId: number): Promise<TweetItem> {
    // A tweet hidden from the caller (a block either way) is one they cannot retweet: 404, as unknown.
    const { user_id: authorId } = await this.tweetById(tweetId, userId)
    const added = await this.transactor.run(async (connection) => {
      const retweeter = await this.lockForRetweet(connection, userId, tweetId)
      const retweetId = await this.tweetDao.addRetweet(connection, userId, tweetId)
      if (retweetId === undefined) return undefined
      await this.tweetDao.addRetweetCount(connection, tweetId, 1)
      await this.notificationDao.addForTweet(connection, 'retweet', userId, tweetId)
      await this.timelineDao.addToTimelines(connection, retweetId, userId, [userId], tweetId)
      if (retweeter.fanout === 'push' && retweeter.followers_count > 0) {
        await this.fanoutDao.enqueue(connection, 'copy', retweetId, userId, tweetId)
      }
      return { retweetId, authorId }
    })
    if (added) {
      this.tweetDao.forgetTweet(tweetId)
      this.fanout.wake()
      this.events.publish({ type: 'tweet', id: added.retweetId, author_id: userId, self: true, audience: 'pulled' })
      this.events.publish({ type: 'notification', user_ids: [added.authorId] })
    }
    return this.tweetById(tweetId, userId)
  }

  /**
   * Undoes the caller's retweet (idempotent) and answers the tweet as the caller now sees it. Locks as
   * retweet does. The retweet's row goes with its timeline entries and any fan-out not yet done; a
   * timeline that showed the tweet through it gets back another entry that shows it, if it has one (its
   * author is followed, or another followee retweeted it): the retweeter's own at once, its followers'
   * through the worker (a 'restore' record).
   */
  async unretweet(userId: number, tweetId: number): Promise<TweetItem> {
    const removed = await this.transactor.run(async (connection) => {
      const retweeter = await this.lockForRetweet(connection, userId, tweetId)
      if (!(await this.tweetDao.removeRetweet(connection, userId, tweetId))) return false
      await this.tweetDao.addRetweetCount(connection, tweetId, -1)
      await this.notificationDao.removeForTweet(connection, 'retweet', userId, tweetId)
      await this.timelineDao.restoreForOwners(connection, [userId], tweetId)
      if (retweeter.fanout === 'push' && retweeter.followers_count > 0) {
        await this.fanoutDao.enqueue(connection, 'restore', tweetId, userId)
      }
      return true
    })
    if (removed) {
      this.tweetDao.forgetTweet(tweetId)
      this.fanout.wake()
    }
    return this.tweetById(tweetId, userId)
  }

  /**
   * Part of erasing a deleted account (service/account-eraser.ts), once its follows are gone (so no
   * follower's timeline needs a tweet restored): removes up to `limit` of its retweets, as unretweet does,
   * in one transaction. Answers how many went (0: none left).
   */
  async removeRetweetsBy(userId: number, limit: number): Promise<number> {
    const tweetIds = await this.tweetDao.retweetedIds(userId, limit)
    if (tweetIds.length === 0) return 0
    const removed = await this.transactor.run(async (connection) => {
      let count = 0
      for (const tweetId of [...tweetIds].sort((a, b) => a - b)) {
        if (!(await this.tweetDao.lockRetweetable(connection, tweetId))) continue
        if (!(await this.tweetDao.removeRetweet(connection, userId, tweetId))) continue
        await this.tweetDao.addRetweetCount(connection, tweetId, -1)
        await this.notificationDao.removeForTweet(connection, 'retweet', userId, tweetId)
        count += 1
      }
      return count
    })
    for (const tweetId of tweetIds) this.tweetDao.forgetTweet(tweetId)
    return removed
  }

  /**
   * Part of erasing a deleted account: deletes up to `limit` of its tweets, newest first, in one
   * transaction, each as deleteTweet does (a reply leaves its tombstone and leaves its parent's count).
   * Answers how many went (0: none left).
   */
  async deleteTweetsBy(userId: number, limit: number): Promise<number> {
    const ids = await this.tweetDao.newestIdsBy(userId, limit)
    if (ids.length === 0) return 0
    const done = await this.transactor.run(async (connection) => {
      const touched: number[] = []
      let deleted = 0
      for (const id of ids) {
        const tweet = await this.tweetDao.lockForDelete(connection, id)
        if (!tweet || tweet.user_id !== userId) continue
        deleted += 1
        if (tweet.in_reply_to !== null) {
          await this.tweetDao.addReplyCount(connection, tweet.in_reply_to, -1)
          await this.tweetDao.addTombstone(
            connection,
            id,
            tweet.in_reply_to,
            tweet.conversation_id ?? tweet.in_reply_to
          )
          touched.push(tweet.in_reply_to)
        }
        await this.tweetDao.deleteTweet(connection, id)
      }
      await this.userDao.addTweetsCount(connection, userId, -deleted)
      return { touched, deleted }
    })
    for (const id of [...ids, ...done.touched]) this.tweetDao.forgetTweet(id)
    return done.deleted
  }

  private async lockForRetweet(connection: PoolConnection, userId: number, tweetId: number): Promise<FanoutRow> {
    if (!(await this.tweetDao.lockRetweetable(connection, tweetId))) {
      throw new NotFound('Tweet not found', { tweet_id: tweetId })
    }
    const retweeter = await this.userDao.lockPoster(connection, userId)
    if (!retweeter) throw new Unauthorized('The account of this token no longer exists')
    return retweeter
  }

  /**
   * The user's own tweets and their followees', newest first. Normally one range read of the
   * timeline table; plus direct reads of the followed 'pull' accounts and, for pages reaching below
   * the horizon, of the accounts whose older tweets the table lacks (their gaps). No page reads more
   * than O(limit × (followees + 1)) rows, whatever the number of tweets (docs/performance.md). Retweets
   * are rows like tweets, placed by the time of the retweet and shown as the tweet they repeat with
   * `retweeted_by`; a tweet is shown once per page (the table never holds it twice; a pulled account's
   * retweet may repeat it across pages). `viewerId`: whose `liked` and `retweeted` flags the items carry.
   */
  async timelineFor(userId: number, page: TwoWayPageRequest, viewerId?: number): Promise<Page<TweetItem>> {
    const window = windowOf(page)
    const wanted = rowsToRead(page)
    const { entries, rows: fromTable, shown } = await this.tablePage(userId, window, wanted)
    // Entries carry the owner's state; an empty page needs it (and the user's existence) asked separately.
    const state = entries[0] ?? (await this.userDao.timelineState(userId))
    if (!state) throw new NotFound('User not found', { user_id: userId })
    // Accounts read directly, each in its own range (up to a gap's below_id, or the whole window).
    const direct = new Map<number, AuthorRange>()
    if (state.pulled_following_count > 0) {
      for (const authorId of await this.followDao.pulledFollowees(userId)) {
        direct.set(authorId, { author_id: authorId, after: window.after, before: window.before })
      }
    }
    const horizon = state.timeline_horizon
    const last = entries[entries.length - 1]
    // The table lacks some followees' tweets below their gaps. Read newest first, gaps entirely below a full
    // page cannot matter; read from `after`, every gap above it can.
    const fullBelowHorizon = entries.length === wanted && last.id >= horizon && !window.oldestFirst
    if (horizon > window.after + 1 && !fullBelowHorizon) {
      const floor = window.oldestFirst || entries.length < wanted ? window.after : last.id
      for (const gap of await this.timelineDao.gaps(userId, floor)) {
        const below = Math.max(direct.get(gap.author_id)?.before ?? 0, Math.min(window.before, gap.below_id))
        direct.set(gap.author_id, { author_id: gap.author_id, after: window.after, before: below })
      }
    }
    const ranges = [...direct.values()]
    let rows: TimelineRow[] | undefined
    if (ranges.length > walkAboveRanges && page.before !== undefined && !window.oldestFirst) {
      // The follow graph over the newest `wanted × accounts` tweets below the cursor: no more rows than
      // the direct reads would cost, and exact whenever that window holds a full page.
      const walked = await this.timelineDao.fromFollowGraph(
        userId,
        Math.max(0, window.before - wanted * ranges.length),
        window.before,
        wanted
      )
      if (walked.length === wanted) rows = keepShown(walked, shown)
    }
    rows ??=
      ranges.length > 0
        ? merge(
            fromTable,
            keepShown(await this.readDirectly(ranges, wanted, window.oldestFirst), shown),
            wanted,
            window.oldestFirst
          )
        : fromTable
    // The cursors come from the rows read, even when an author was deleted meanwhile and is not shown.
    const read = pageOf(rows, page, (row) => row.id)
    // The owner's own home timeline leaves out the accounts they mute.
    return { ...read, items: await this.timelineItems(read.items, shown, viewerId, viewerId === userId) }
  }

  /**
   * A page's rows as items: each shows its tweet or, for a retweet, the tweet it repeats with who
   * retweeted it. A tweet is shown once, where it first appears. `shown` holds the tweets already read;
   * the others (those pulled retweets repeat) come in one batched lookup.
   */
  private async timelineItems(
    rows: TimelineRow[],
    shown: Map<number, TweetRow>,
    viewerId: number | undefined,
    withoutMuted: boolean
  ): Promise<TweetItem[]> {
    const missing = rows.map(shownIdOf).filter((id) => !shown.has(id))
    if (missing.length > 0) for (const [id, row] of await this.tweetDao.tweetsByIds(missing)) shown.set(id, row)
    const tweets: TweetRow[] = []
    const retweets = new Map<number, TimelineRow>()
    const seen = new Set<number>()
    for (const row of rows) {
      const tweet = shown.get(shownIdOf(row))
      // Deleted meanwhile (a retweet goes with its tweet), or already on the page.
      if (!tweet || seen.has(tweet.id)) continue
      seen.add(tweet.id)
      tweets.push(tweet)
      if (row.retweet_of !== null) retweets.set(tweet.id, row)
    }
    return this.toItems(tweets, viewerId, retweets, withoutMuted)
  }

  /**
   * A page of the timeline table: its entries, the rows of those whose tweet still exists, and the tweets
   * they show (from TweetDao's cache; no two entries of a timeline show the same tweet). A tweet deleted
   * between the two reads takes its entries (and its retweets') with it, so the page is read once more;
   * what is still missing then is left out.
   */
  private async tablePage(
    userId: number,
    window: Window,
    wanted: number
  ): Promise<{ entries: TimelineEntryRow[]; rows: TimelineRow[]; shown: Map<number, TweetRow> }> {
    let entries: TimelineEntryRow[] = []
    let shown = new Map<number, TweetRow>()
    for (let attempt = 0; attempt < 2; attempt += 1) {
      entries = await this.timelineDao.page(userId, window, wanted)
      shown = await this.tweetDao.tweetsByIds(entries.map(shownIdOf))
      if (shown.size === entries.length) break
    }
    return { entries, rows: entries.filter((entry) => shown.has(shownIdOf(entry))), shown }
  }

  /**
   * The newest `wanted` tweets of the given ranges (the oldest, with oldestFirst). Beyond `wanted`
   * accounts, only those whose first tweet in that order is among the `wanted` first such tweets can place
   * one on the page (those alone would fill it), so one index lookup per account picks at most `wanted` of
   * them to read in full: the cost is O(accounts + wanted²) rows, not O(accounts × wanted).
   */
  private async readDirectly(ranges: AuthorRange[], wanted: number, oldestFirst: boolean): Promise<TweetRow[]> {
    let reading = ranges
    if (ranges.length > wanted) {
      let heads: AuthorHeadRow[] = []
      for (let start = 0; start < ranges.length; start += rangesPerStatement) {
        const chunk = await this.timelineDao.headAuthors(
          ranges.slice(start, start + rangesPerStatement),
          wanted,
          oldestFirst
        )
        const sign = oldestFirst ? 1 : -1
        heads = [...heads, ...chunk].sort((x, y) => sign * (x.id - y.id)).slice(0, wanted)
      }
      const authors = new Set(heads.map((head) => head.user_id))
      reading = ranges.filter((range) => authors.has(range.author_id))
    }
    return this.timelineDao.byAuthors(reading, wanted, oldestFirst)
  }

  /** The author of the tweet a reply answers (undefined: no such tweet, which the post refuses). */
  private async replyableParent(inReplyTo: number, userId: number): Promise<number | undefined> {
    const row = await this.tweetDao.tweetById(inReplyTo)
    if (row && (await this.toItems([row], userId)).length === 0) {
      throw new NotFound('The tweet in_reply_to names does not exist', { in_reply_to: inReplyTo })
    }
    return row?.user_id
  }

  private async assertAuthor(connection: PoolConnection, userId: number, tweetId: number): Promise<void> {
    assertChangeable(userId, tweetId, await this.tweetDao.authorForUpdate(connection, tweetId))
  }

  /**
   * Tweets with their authors, media and the viewer's like and retweet flags (at most one statement each
   * for all the rows), and the retweet that put each on a timeline (`retweets`: tweet id → the retweet's
   * row); a row whose author or retweeter was deleted meanwhile is left out.
   */
  private async toItems(
    rows: TweetRow[],
    viewerId?: number,
    retweets: Map<number, TimelineRow> = new Map(),
    withoutMuted = false
  ): Promise<TweetItem[]> {
    const withMedia = rows.filter((row) => row.media_count > 0).map((row) => row.id)
    const retweeterIds = [...retweets.values()].map((retweet) => retweet.user_id)
    // A tweet nobody retweeted is not the viewer's retweet: a page of such tweets asks nothing about them.
    const retweetedIds = rows.filter((row) => row.retweet_count > 0).map((row) => row.id)
    const [authors, media, flags] = await Promise.all([
      this.userDao.authors([...rows.map((row) => row.user_id), ...retweeterIds]),
      withMedia.length > 0 && this.media ? this.media.mediaForTweets(withMedia) : undefined,
      viewerId === undefined
        ? undefined
        : this.tweetDao.viewerFlags(
            viewerId,
            rows.map((row) => row.id),
            retweetedIds,
            [...new Set([...rows.map((row) => row.user_id), ...retweeterIds])],
            withoutMuted
          )
    ])
    const items: TweetItem[] = []
    for (const row of rows) {
      const author = authors.get(row.user_id)
      const retweet = retweets.get(row.id)
      const retweeter = retweet && authors.get(retweet.user_id)
      if (!author || (retweet && !retweeter)) continue
      // Between the viewer and someone who blocks them or whom they block, neither sees the other.
      if (flags?.blocked.has(row.user_id) || (retweet && flags?.blocked.has(retweet.user_id))) continue
      // A muted account's tweets and retweets (withoutMuted: the muter's home timeline).
      if (flags?.muted.has(row.user_id) || (retweet && flags?.muted.has(retweet.user_id))) continue
      items.push({
        id: row.id,
        user_id: row.user_id,
        tweet: row.tweet,
        created_at: row.created_at,
        edited_at: row.edited_at,
        user: {
          id: row.user_id,
          name: author.name,
          username: author.username,
          profile_picture: author.profile_picture === null ? null : this.storage.url(author.profile_picture)
        },
        media: media?.get(row.id) ?? [],
        like_count: row.like_count,
        liked: flags?.liked.has(row.id) ?? false,
        in_reply_to: row.in_reply_to,
        reply_count: row.reply_count,
        retweet_count: row.retweet_count,
        retweeted: flags?.retweeted.has(row.id) ?? false,
        retweeted_by:
          retweet && retweeter
            ? { id: retweeter.id, name: retweeter.name, username: retweeter.username, retweet_id: retweet.id }
            : null,
        mentions: row.mentions === null ? [] : (JSON.parse(row.mentions) as Mention[])
      })
    }
    return items
  }
}

/**
 * Rows read from tweets (direct reads, the follow-graph walk) as timeline rows; a tweet among them is
 * what it shows, so it joins `shown` (a retweet's tweet is looked up with the page's other missing ones).
 */
function keepShown(rows: TweetRow[], shown: Map<number, TweetRow>): TimelineRow[] {
  for (const row of rows) if (row.retweet_of === null && !shown.has(row.id)) shown.set(row.id, row)
  return rows
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
