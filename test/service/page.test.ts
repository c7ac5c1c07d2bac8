// The page helper every paged read uses: how many rows to read, and the page and cursor they make.
import t from 'tap'
import { Invalid } from '../../service/errors.ts'
import { maxPageSize } from '../../service/limits.ts'
import { pageOf, rowsToRead, windowOf } from '../../service/page.ts'

const rows = (...ids: number[]) => ids.map((id) => ({ id, name: `row ${id}` }))
const byId = (row: { id: number }) => row.id

t.test('a page reads one row more than it shows', async (t) => {
  t.equal(rowsToRead({ limit: 20 }), 21)
  t.equal(rowsToRead({ limit: 1, before: 7 }), 2)
})

t.test('a limit outside 1 to maxPageSize is Invalid: it bounds what a page costs', async (t) => {
  t.equal(rowsToRead({ limit: maxPageSize }), maxPageSize + 1)
  for (const limit of [0, -1, maxPageSize + 1, 2.5, Number.NaN]) {
    const invalid = new Invalid(`limit must be an integer from 1 to ${maxPageSize}`, { field: 'limit' })
    t.throws(() => rowsToRead({ limit }), invalid, `limit ${limit}`)
  }
})

t.test('with the extra row there is a next page, starting below the last row shown', async (t) => {
  t.same(pageOf(rows(9, 8, 7, 6), { limit: 3 }, byId), { items: rows(9, 8, 7), next_cursor: 7, prev_cursor: null })
  t.same(pageOf(rows(9, 8), { limit: 1 }, byId), { items: rows(9), next_cursor: 9, prev_cursor: null })
})

t.test('without it, the page is the last one, even when exactly full', async (t) => {
  t.same(pageOf(rows(9, 8, 7), { limit: 3 }, byId), { items: rows(9, 8, 7), next_cursor: null, prev_cursor: null })
  t.same(pageOf(rows(9), { limit: 3 }, byId), { items: rows(9), next_cursor: null, prev_cursor: null })
  t.same(pageOf([], { limit: 3 }, byId), { items: [], next_cursor: null, prev_cursor: null })
})

t.test('the cursor comes from the row, by the function given', async (t) => {
  const page = pageOf([{ key: 30 }, { key: 20 }, { key: 10 }], { limit: 2, before: 40 }, (row) => row.key)
  t.same(page, { items: [{ key: 30 }, { key: 20 }], next_cursor: 20, prev_cursor: 30 })
})

t.test(
  'a page below a cursor points back to newer items from its first row; a first page has nothing newer',
  async (t) => {
    t.same(pageOf(rows(7, 6, 5), { limit: 2, before: 8 }, byId), { items: rows(7, 6), next_cursor: 6, prev_cursor: 7 })
    t.same(pageOf(rows(7, 6, 5), { limit: 2 }, byId), { items: rows(7, 6), next_cursor: 6, prev_cursor: null })
    t.same(pageOf([], { limit: 2, before: 8 }, byId), { items: [], next_cursor: null, prev_cursor: null })
  }
)

t.test('after: the rows read oldest first are shown newest first', async (t) => {
  t.same(windowOf({ limit: 3, after: 4 }), { after: 4, before: Number.MAX_SAFE_INTEGER, oldestFirst: true })
  t.same(windowOf({ limit: 3, before: 9 }), { after: 0, before: 9, oldestFirst: false })
  t.same(windowOf({ limit: 3, after: 4, before: 9 }), { after: 4, before: 9, oldestFirst: true })
  // Read 5, 6, 7, 8 (one more than the limit): newer items exist past 7.
  t.same(pageOf(rows(5, 6, 7, 8), { limit: 3, after: 4 }, byId), {
    items: rows(7, 6, 5),
    next_cursor: 5,
    prev_cursor: 7
  })
})

t.test('after: nothing newer now is a null prev_cursor, even when the page is exactly full', async (t) => {
  t.same(pageOf(rows(5, 6, 7), { limit: 3, after: 4 }, byId), {
    items: rows(7, 6, 5),
    next_cursor: 5,
    prev_cursor: null
  })
  t.same(pageOf([], { limit: 3, after: 4 }, byId), { items: [], next_cursor: null, prev_cursor: null })
})

t.test('after at or above before is Invalid: the window would be empty by construction', async (t) => {
  const invalid = new Invalid('after must be below before', { field: 'after' })
  t.throws(() => rowsToRead({ limit: 3, after: 9, before: 9 }), invalid)
  t.throws(() => rowsToRead({ limit: 3, after: 10, before: 9 }), invalid)
  t.equal(rowsToRead({ limit: 3, after: 8, before: 9 }), 4)
})
