// The authors shown on tweets (name and picture), kept in memory by UserDao: every timeline page names up to 100
// of them, and joining `users` for each row was most of a page's database time. An entry older than
// `ttlMs` is still answered, and refreshed in the background (stale-while-revalidate), so a page waits
// for the database only for authors this process has never shown. A change made through this process
// is seen at once (forget); one made through another instance within about `ttlMs`.
export interface AuthorRow {
  id: number
  name: string
  profile_picture: string | null
}

export interface AuthorCacheOptions {
  /** After this long an entry is refreshed in the background; 0 reads every author every time. */
  ttlMs: number
  /** Entries kept at most; the least recently fetched go first. */
  maxEntries: number
}

interface Entry {
  author: AuthorRow
  fetchedAt: number
}

/** Ids refreshed per background statement. */
const refreshBatch = 500

export class AuthorCache {
  private readonly entries = new Map<number, Entry>()
  private readonly stale = new Set<number>()
  private refreshing: Promise<void> | undefined
  /** Bumped by forget: a read that started before a forget must not store what it read. */
  private epoch = 0

  constructor(
    private readonly read: (ids: number[]) => Promise<AuthorRow[]>,
    private readonly options: AuthorCacheOptions
  ) {}

  /** The authors with these ids; an id with no user (deleted meanwhile) is absent from the map. */
  async byIds(ids: Iterable<number>): Promise<Map<number, AuthorRow>> {
    const found = new Map<number, AuthorRow>()
    const missing: number[] = []
    const now = Date.now()
    for (const id of new Set(ids)) {
      const entry = this.options.ttlMs > 0 ? this.entries.get(id) : undefined
      if (!entry) {
        missing.push(id)
        continue
      }
      found.set(id, entry.author)
      if (now - entry.fetchedAt > this.options.ttlMs) this.stale.add(id)
    }
    if (missing.length > 0) for (const author of await this.fetch(missing)) found.set(author.id, author)
    if (this.stale.size > 0) this.refreshing ??= this.refresh()
    return found
  }

  /** Records an author just read from the primary (a post answers with its author). */
  remember(author: AuthorRow): void {
    if (this.options.ttlMs > 0) this.store(author, Date.now())
  }

  /** Drops an author whose name or picture this process has just changed. */
  forget(id: number): void {
    this.epoch += 1
    this.entries.delete(id)
    this.stale.delete(id)
  }

  /** Waits for a background refresh in progress (before the pool closes). */
  async settled(): Promise<void> {
    while (this.refreshing) await this.refreshing
  }

  private async fetch(ids: number[]): Promise<AuthorRow[]> {
    const epoch = this.epoch
    const authors = await this.read(ids)
    if (this.options.ttlMs > 0 && epoch === this.epoch) {
      const now = Date.now()
      for (const author of authors) this.store(author, now)
    }
    return authors
  }

  private store(author: AuthorRow, fetchedAt: number): void {
    // Re-inserting moves the entry to the end of the Map's order, which is eviction order.
    this.entries.delete(author.id)
    this.entries.set(author.id, { author, fetchedAt })
    this.stale.delete(author.id)
    while (this.entries.size > this.options.maxEntries) {
      this.entries.delete(this.entries.keys().next().value!)
    }
  }

  private async refresh(): Promise<void> {
    try {
      while (this.stale.size > 0) {
        const ids = [...this.stale].slice(0, refreshBatch)
        for (const id of ids) this.stale.delete(id)
        const fetched = await this.fetch(ids)
        // An author that no longer exists is dropped rather than shown until evicted.
        const present = new Set(fetched.map((author) => author.id))
        for (const id of ids) if (!present.has(id)) this.entries.delete(id)
      }
    } catch {
      // The stale entries keep being answered; the next read that finds them old tries again.
    } finally {
      this.refreshing = undefined
    }
  }
}
