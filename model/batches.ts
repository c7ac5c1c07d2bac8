// Work over a whole table in bounded pieces, for the migrator's long steps (adopting the book's database,
// backfills): ranges of an indexed column holding about N rows each, and progress lines while they run.
import type { RowDataPacket } from 'mysql2/promise'
import type { Queryable } from './database.ts'

/** Where the migrator's progress lines go: stdout for `npm run migrate`, the log for `npm start`. */
export type Progress = (line: string) => void

/** [from, to) of an integer column, and how many rows it holds (exactly, when the column is unique). */
export interface IdRange {
  from: number
  to: number
  rows: number
}

/**
 * Consecutive ranges of `column` (the first column of an index of `table`) covering every row, each
 * holding `rowsPerRange` rows (at most, when the column is not unique; a single value holding more is a
 * range of its own): one index walk of that many entries per range, however sparse the values.
 */
export async function* rangesOf(
  db: Queryable,
  table: string,
  column: string,
  rowsPerRange: number
): AsyncGenerator<IdRange> {
  const [[bounds]] = await db.query<RowDataPacket[]>('SELECT MIN(??) AS first, MAX(??) AS last FROM ??', [
    column,
    column,
    table
  ])
  if (bounds.first === null) return
  let from = Number(bounds.first)
  const end = Number(bounds.last) + 1
  while (from < end) {
    const [next] = await db.query<RowDataPacket[]>(
      'SELECT ?? AS v FROM ?? WHERE ?? >= ? ORDER BY ?? LIMIT 1 OFFSET ?',
      [column, table, column, from, column, rowsPerRange]
    )
    if (next.length > 0) {
      const to = Math.max(Number(next[0].v), from + 1)
      yield { from, to, rows: rowsPerRange }
      from = to
    } else {
      const [[rest]] = await db.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM ?? WHERE ?? >= ?', [
        table,
        column,
        from
      ])
      yield { from, to: end, rows: Number(rest.n) }
      return
    }
  }
}

/** 1,000,000 */
export const formatCount = (n: number): string => n.toLocaleString('en-US')
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/** Progress lines for one step over `total` rows: at most one a second while it runs, and one at the end. */
export class StepProgress {
  private done = 0
  private readonly started = performance.now()
  private lastLine = performance.now()

  constructor(
    private readonly progress: Progress,
    private readonly label: string,
    private readonly total: number
  ) {}

  advance(rows: number): void {
    this.done += rows
    if (performance.now() - this.lastLine < 1000) return
    this.lastLine = performance.now()
    const share = this.total > 0 ? ` (${Math.floor((100 * this.done) / this.total)}%)` : ''
    this.progress(`  ${this.label}: ${formatCount(this.done)} of ${formatCount(this.total)}${share}`)
  }

  finish(what = 'rows'): void {
    this.progress(`  ${this.label}: ${formatCount(this.done)} ${what} in ${seconds(performance.now() - this.started)}`)
  }
}

/** Runs `work`, then says how long it took. */
export async function timedStep<T>(progress: Progress, label: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now()
  const result = await work()
  progress(`  ${label} in ${seconds(performance.now() - started)}`)
  return result
}
