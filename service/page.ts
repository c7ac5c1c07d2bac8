// Keyset pages: the one shape every paged read answers ({items, next_cursor}) and the one rule for its cursor.
import { Invalid } from './errors.ts'
import { maxPageSize } from './limits.ts'

export interface PageRequest {
  limit: number
  /** Only items with an id below this (the previous page's next_cursor). */
  before?: number
}

export interface Page<T> {
  items: T[]
  /** The `before` of the next page; null on the last one. */
  next_cursor: number | null
}

/**
 * Rows to read for a page: one more than it shows, so that the extra one tells whether another page
 * follows. A limit outside 1–maxPageSize is refused: it bounds what one page may cost.
 */
export function rowsToRead(page: PageRequest): number {
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > maxPageSize) {
    throw new Invalid(`limit must be an integer from 1 to ${maxPageSize}`, { field: 'limit' })
  }
  return page.limit + 1
}

/**
 * The page made of `rows`, read newest first with rowsToRead(page): the first `page.limit` of them and,
 * when there were more, the cursor of the last of those (the next page starts below it).
 */
export function pageOf<R>(rows: R[], page: PageRequest, cursor: (row: R) => number): Page<R> {
  const items = rows.slice(0, page.limit)
  return { items, next_cursor: rows.length > page.limit ? cursor(items[items.length - 1]) : null }
}
