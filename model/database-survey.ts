// What a database holds before the migrator writes anything: nothing, Miniter's schema, the three tables
// the book's SQL creates (which the migrator adopts), or something else, which it refuses untouched.
import type { RowDataPacket } from 'mysql2/promise'
import type { Queryable } from './database.ts'

export const bookTables = ['users', 'users_follow_list', 'tweets'] as const
export type BookTable = (typeof bookTables)[number]

/**
 * The book's columns (its chapter 8 adds users.profile_picture, the only one that may be missing). A
 * table with a column outside these is refused: adopting it would drop that column's data.
 */
const bookColumns: Record<BookTable, { required: string[]; optional: string[] }> = {
  users: {
    required: ['id', 'name', 'email', 'hashed_password', 'profile', 'created_at', 'updated_at'],
    optional: ['profile_picture']
  },
  users_follow_list: { required: ['user_id', 'follow_user_id', 'created_at'], optional: [] },
  tweets: { required: ['id', 'user_id', 'tweet', 'created_at'], optional: [] }
}

/** The columns migrations/001 gives the same tables, in order. */
const initColumns: Record<BookTable, string[]> = {
  users: ['id', 'name', 'email', 'hashed_password', 'profile', 'profile_picture', 'created_at', 'updated_at'],
  users_follow_list: ['user_id', 'follow_user_id', 'created_at'],
  tweets: ['id', 'user_id', 'tweet', 'created_at']
}

/** Where adoption keeps the book's tables, renamed, while it copies their rows into Miniter's tables. */
export function heldName(table: BookTable): string {
  return `book_${table}`
}

/** The book's table as found: under its own name, or held aside by an adoption that was interrupted. */
export interface BookTableFacts {
  /** Its current name: the book's, or heldName() while an adoption holds it. */
  name: string
  columns: string[]
  /** The table's default collation, for the plan (e.g. latin1_swedish_ci). */
  collation: string
}

export type DatabaseSurvey =
  | { kind: 'empty' }
  | { kind: 'miniter' }
  | {
      kind: 'book'
      tables: Record<BookTable, BookTableFacts>
      /** An adoption stopped after holding the book's tables aside: it starts again from them. */
      resuming: boolean
      /** The database's default collation, which routines created by later migrations would take. */
      collation: string
    }
  | { kind: 'unknown'; why: string }

/** Tables named in a refusal: enough to recognise the database. */
const maxNamesShown = 10

/** A database the migrator will not touch, with what was found and what to do. */
export class DatabaseRefused extends Error {
  override name = 'DatabaseRefused'
}

interface TableRow extends RowDataPacket {
  name: string
  type: string
  collation: string | null
}

interface ColumnRow extends RowDataPacket {
  table_name: string
  column_name: string
}

/** Reads information_schema only; runs on the connection the migrator then works on. */
export async function surveyDatabase(db: Queryable): Promise<DatabaseSurvey> {
  const [tables] = await db.query<TableRow[]>(
    `SELECT TABLE_NAME AS name, TABLE_TYPE AS type, TABLE_COLLATION AS collation
       FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME`
  )
  if (tables.length === 0) return { kind: 'empty' }
  if (tables.some((table) => table.name === 'schema_migrations')) return { kind: 'miniter' }
  const [columnRows] = await db.query<ColumnRow[]>(
    `SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION`
  )
  const columnsOf = (name: string) =>
    columnRows.filter((row) => row.table_name === name).map((row) => row.column_name.toLowerCase())
  const byName = new Map(tables.map((table) => [table.name, table]))
  const names = tables.map((table) => table.name)
  const shown = names
    .slice(0, maxNamesShown)
    .map((name) => (byName.get(name)!.type === 'VIEW' ? `${name} (a view)` : name))
  const more = names.length > maxNamesShown ? ` and ${names.length - maxNamesShown} more` : ''
  const found = `it holds ${shown.join(', ')}${more}`

  const held = bookTables.every((table) => byName.has(heldName(table)))
  const current = (table: BookTable) => (held ? heldName(table) : table)
  // Besides the book's tables (held aside or not), only the tables an interrupted adoption was filling.
  const expected = new Set<string>(bookTables.map(current))
  if (held) for (const table of bookTables) expected.add(table)
  if (!bookTables.every((table) => byName.has(current(table))) || names.some((name) => !expected.has(name))) {
    return { kind: 'unknown', why: found }
  }
  // What an interrupted adoption left under the book's names can only be migrations/001's tables, which it
  // drops and fills again: anything else there is somebody's data.
  for (const table of held ? bookTables : []) {
    const columns = byName.has(table) ? columnsOf(table) : undefined
    if (columns && columns.join() !== initColumns[table].join()) {
      return { kind: 'unknown', why: `${found}; ${table} is neither the book's table nor Miniter's` }
    }
  }
  const facts = {} as Record<BookTable, BookTableFacts>
  for (const table of bookTables) {
    const name = current(table)
    const row = byName.get(name)!
    if (row.type !== 'BASE TABLE') return { kind: 'unknown', why: `${found}; ${name} is not a table` }
    const columns = columnsOf(name)
    const { required, optional } = bookColumns[table]
    const missing = required.filter((column) => !columns.includes(column))
    if (missing.length > 0) {
      return { kind: 'unknown', why: `${found}; ${name} lacks the book's column(s) ${missing.join(', ')}` }
    }
    const extra = columns.filter((column) => !required.includes(column) && !optional.includes(column))
    if (extra.length > 0) {
      return {
        kind: 'unknown',
        why: `${found}; ${name} has column(s) the book's schema does not: ${extra.join(', ')} (adopting it would lose them)`
      }
    }
    facts[table] = { name, columns, collation: row.collation ?? '' }
  }
  const [[schema]] = await db.query<RowDataPacket[]>(
    'SELECT DEFAULT_COLLATION_NAME AS collation FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()'
  )
  return { kind: 'book', tables: facts, resuming: held, collation: String(schema.collation) }
}

/** The message for a database that is neither empty, nor Miniter's, nor the book's. */
export function refusal(database: string, why: string): string {
  return (
    `Database "${database}" is neither empty, nor Miniter's (it has no schema_migrations table), nor the ` +
    `one the book's SQL creates (exactly users, users_follow_list and tweets with the book's columns): ${why}. ` +
    'Nothing was changed. Point DATABASE_URL at an empty database, at a Miniter database or at a book database.'
  )
}
