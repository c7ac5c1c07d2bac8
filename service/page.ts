// Keyset pages: the one shape every paged read answers ({items, next_cursor, prev_cursor}) and the rules
// for its cursors, towards older (`before`) and towards newer (`after`).
import { Invalid } from './errors.ts'
import { maxPageSize } from './limits.ts'

/** A page of a list read towards older only (follower lists, media). */
export interface PageRequest {
  limit: number
  /** Only items with a cursor below this (the previous page's next_cursor). */
  before?: number
}

/** A page of a list read both ways (timelines, an author's tweets, likes). */
export interface TwoWayPageRequest extends PageRequest {
  /**
   * Only items with a cursor above this (a prev_cursor, or the newest cursor the client holds): the page
   * is then the `limit` items immediately newer than it, still shown newest first.
   */
  after?: number
}

export interface Page<T> {
  items: T[]
  /** The `before` of the next older page; null when nothing older is left. */
  next_cursor: number | null
  /** The `after` of the next newer page; null when nothing newer exists now. */
  prev_cursor: number | null
}

/** The cursors a page covers: above `after`, below `before`, read from the older end when `after` is set. */
export interface Window {
  after: number
  before: number
  oldestFirst: boolean
}

/** Past every id: the first page starts below it. */
const beyondNewest = Number.MAX_SAFE_INTEGER

export function windowOf(page: TwoWayPageRequest): Window {
  return { after: page.after ?? 0, before: page.before ?? beyondNewest, oldestFirst: page.after !== undefined }
}

/**
 * Rows to read for a page: one more than it shows, so that the extra one tells whether another page
 * follows. A limit outside 1–maxPageSize is refused: it bounds what one page may cost.
 */
export function rowsToRead(page: TwoWayPageRequest): number {
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > maxPageSize) {
    throw new Invalid(`limit must be an integer from 1 to ${maxPageSize}`, { field: 'limit' })
  }
  if (page.after !== undefined && page.before !== undefined && page.after >= page.before) {
    throw new Invalid('after must be below before', { field: 'after' })
  }
  return page.limit + 1
}

/**
 * The page made of `rows`, read with rowsToRead(page) in windowOf(page)'s order: newest first, or oldest
 * first from `after`. Items are shown newest first either way.
 * - Towards older: next_cursor is the last item's when more rows were read; prev_cursor is the first
 *   item's when the page was asked below a cursor (newer items were there), null on the first page.
 * - Towards newer: prev_cursor is the newest item's when more rows were read (newer ones exist now);
 *   next_cursor is the oldest item's (older items lie below it, down to `after` and past it).
 */
export function pageOf<R>(rows: R[], page: TwoWayPageRequest, cursor: (row: R) => number): Page<R> {
  if (page.after === undefined) {
    const items = rows.slice(0, page.limit)
    return {
      items,
      next_cursor: rows.length > page.limit ? cursor(items[items.length - 1]) : null,
      prev_cursor: page.before !== undefined && items.length > 0 ? cursor(items[0]) : null
    }
  }
  const items = rows.slice(0, page.limit).reverse()
  return {
    items,
    next_cursor: items.length > 0 ? cursor(items[items.length - 1]) : null,
    prev_cursor: rows.length > page.limit ? cursor(items[0]) : null
  }
}
