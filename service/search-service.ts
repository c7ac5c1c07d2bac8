// Search: people by the start of their username or name, and tweets by their words, both newest first and
// keyset paged below `before`, and shown as the caller sees them (nobody blocked either way).
import type { SearchDao } from '../model/search-dao.ts'
import { Invalid } from './errors.ts'
import { toUserSummary, type ListedUser } from './follow-service.ts'
import type { ListedUserSource, TweetItemSource } from './like-service.ts'
import { codePoints, maxSearchLength, maxSearchWords, minSearchLength } from './limits.ts'
import { pageOf, rowsToRead, type Page, type PageRequest } from './page.ts'
import type { Storage } from './storage/storage.ts'
import type { TweetItem } from './tweet-service.ts'

/** What a word is, for search: letters, digits, combining marks and '_' (as migrations/014 indexes them). */
const wordPattern = /[\p{L}\p{N}\p{M}_]+/gu

/** The query text, trimmed; Invalid naming `q` when it is shorter than minSearchLength or too long. */
function checkQuery(q: string): string {
  const text = q.trim()
  const length = codePoints(text)
  if (length < minSearchLength || length > maxSearchLength) {
    throw new Invalid(`q must be ${minSearchLength} to ${maxSearchLength} characters`, { field: 'q' })
  }
  return text
}

export class SearchService {
  constructor(
    private readonly searchDao: SearchDao,
    private readonly tweetItems: TweetItemSource,
    private readonly people: ListedUserSource,
    private readonly storage: Storage
  ) {}

  /**
   * Users whose username or name starts with q (a leading '@' is dropped: '@eun' finds 'eunwoo'), highest
   * id first; the cursor is a user id.
   */
  async users(q: string, page: PageRequest, viewerId?: number): Promise<Page<ListedUser>> {
    // At least 2 characters: without a leading '@' at least one is left.
    const prefix = checkQuery(q).replace(/^@/, '')
    const rows = await this.searchDao.users(prefix, page.before ?? Number.MAX_SAFE_INTEGER, rowsToRead(page))
    const shown = pageOf(rows, page, (row) => row.id)
    return {
      ...shown,
      items: await this.people.shownTo(
        viewerId,
        shown.items.map((row) => toUserSummary(row, this.storage))
      )
    }
  }

  /**
   * Tweets holding every word of q, each as the start of one of their words (`세계` finds `세계를`), newest
   * first; the cursor is a tweet id. Punctuation separates words and is otherwise ignored. A page may hold
   * fewer than its limit, even none, with a next_cursor leading on: follow it until it is null.
   */
  async tweets(q: string, page: PageRequest, viewerId?: number): Promise<Page<TweetItem>> {
    const words = [...new Set(checkQuery(q).match(wordPattern) ?? [])].slice(0, maxSearchWords)
    if (words.length === 0) throw new Invalid('q must hold a word (letters or digits)', { field: 'q' })
    const { ids, continueBelow } = await this.searchDao.tweetIds(
      words,
      page.before ?? Number.MAX_SAFE_INTEGER,
      rowsToRead(page)
    )
    const shown = pageOf(ids, page, (id) => id)
    // A tweet deleted meanwhile, or by someone blocked either way, is left out; the cursor still moves past
    // it. A read that stopped short (common words: SearchDao.tweetIds) gives a short page that leads on.
    return {
      ...shown,
      next_cursor: shown.next_cursor ?? continueBelow,
      items: await this.tweetItems.tweetsByIds(shown.items, viewerId)
    }
  }
}
