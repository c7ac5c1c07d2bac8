// Rows that every timeline page shows, kept in memory by their DAO: the tweets on a page (TweetDao) and
// their authors' names and pictures (UserDao). Reading them by primary key for each row of each page was
// most of a page's database time. An entry older than `ttlMs` is still answered, and refreshed in the
// background (stale-while-revalidate), so a page waits for the database only for rows this process has
// never shown. A change made through this process is seen at once (forget, after its commit); one made
// through another instance within about `ttlMs`.

export interface RowCacheOptions {
  /** After this long an entry is refreshed in the background; 0 reads every row every time. */
  ttlMs: number
  /** Entries kept at most; the least recently fetched go first. */
  maxEntries: number
}

interface Entry<T> {
  row: T
  fetchedAt: number
}

/** Ids refreshed per background statement. */
const refreshBatch = 500

export class RowCache<T extends { id: number }> {
  private readonly entries = new Map<number, Entry<T>>()
  private readonly stale = new Set<number>()
  private refreshing: Promise<void> | undefined
  /** Bumped by forget: a read that started before a forget must not store what it read. */
  private epoch = 0

  constructor(
    private readonly read: (ids: number[]) => Promise<T[]>,
    private readonly options: RowCacheOptions
  ) {}

  /** The rows with these ids; an id with no row (deleted meanwhile) is absent from the map. */
  async byIds(ids: readonly number[]): Promise<Map<number, T>> {
    const found = new Map<number, T>()
    const missing = new Set<number>()
    const { ttlMs } = this.options
    const now = Date.now()
    // Every page calls this twice: a plain loop, and a Set only for what is missing.
    for (let i = 0; i < ids.length; i += 1) {
      const id = ids[i]
      const entry = ttlMs > 0 ? this.entries.get(id) : undefined
      if (entry === undefined) missing.add(id)
      else {
        found.set(id, entry.row)
        if (now - entry.fetchedAt > ttlMs) this.stale.add(id)
      }
    }
    if (missing.size > 0) for (const row of await this.fetch([...missing])) found.set(row.id, row)
    if (this.stale.size > 0) this.refreshing ??= this.refresh()
    return found
  }

  /** Records a row just read from the primary (a post answers with its author). */
  remember(row: T): void {
    if (this.options.ttlMs > 0) this.store(row, Date.now())
  }

  /** Drops a row this process has just changed (call it once the change is committed). */
  forget(id: number): void {
    this.epoch += 1
    this.entries.delete(id)
    this.stale.delete(id)
  }

  /** Waits for a background refresh in progress (before the pool closes). */
  async settled(): Promise<void> {
    while (this.refreshing) await this.refreshing
  }

  private async fetch(ids: number[]): Promise<T[]> {
    const epoch = this.epoch
    const rows = await this.read(ids)
    if (this.options.ttlMs > 0 && epoch === this.epoch) {
      const now = Date.now()
      for (const row of rows) this.store(row, now)
    }
    return rows
  }

  private store(row: T, fetchedAt: number): void {
    // Re-inserting moves the entry to the end of the Map's order, which is eviction order.
    this.entries.delete(row.id)
    this.entries.set(row.id, { row, fetchedAt })
    this.stale.delete(row.id)
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
        // A row that no longer exists is dropped rather than shown until evicted.
        const present = new Set(fetched.map((row) => row.id))
        for (const id of ids) if (!present.has(id)) this.entries.delete(id)
      }
    } catch {
      // The stale entries keep being answered; the next read that finds them old tries again.
    } finally {
      this.refreshing = undefined
    }
  }
}
