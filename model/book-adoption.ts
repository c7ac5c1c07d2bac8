// Adopting a database made by the book's SQL: its three tables become exactly the ones migrations/001
// creates, every row kept as it was, so that the migrator can record 001 as the baseline and go on.
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import { formatCount, rangesOf, StepProgress, timedStep, type Progress } from './batches.ts'
import type { Queryable } from './database.ts'
import { bookTables, DatabaseRefused, heldName, type BookTable, type DatabaseSurvey } from './database-survey.ts'

type BookSurvey = Extract<DatabaseSurvey, { kind: 'book' }>

const miniterCollation = 'utf8mb4_unicode_ci'

/** Where keepUpdatedAt() keeps the book's users.updated_at while the migrations run. */
const keptUpdatedAt = 'adoption_kept_updated_at'

/** Rows per copying statement: each a short transaction, however big the table. */
const rowsPerCopy = 20_000

/**
 * Each table's columns in migrations/001's order, as the book's table gives them. Timestamps go through
 * the migrator's session (time_zone +00:00): TIMESTAMP values keep their instant as UTC DATETIME(3),
 * which is what Miniter's DATETIME columns hold; text is converted from the table's character set.
 */
function selectList(table: BookTable, survey: BookSurvey): string {
  switch (table) {
    case 'users': {
      const picture = survey.tables.users.columns.includes('profile_picture') ? 'profile_picture' : 'NULL'
      return `id, name, email, hashed_password, profile, ${picture}, created_at, updated_at`
    }
    case 'users_follow_list':
      return 'user_id, follow_user_id, created_at'
    case 'tweets':
      return 'id, user_id, tweet, created_at'
  }
}

const insertList: Record<BookTable, string> = {
  users: 'id, name, email, hashed_password, profile, profile_picture, created_at, updated_at',
  users_follow_list: 'user_id, follow_user_id, created_at',
  tweets: 'id, user_id, tweet, created_at'
}

/** The column that orders a table's rows into ranges for copying: its primary key's first column. */
const rangeColumn: Record<BookTable, string> = { users: 'id', users_follow_list: 'user_id', tweets: 'id' }

/**
 * One row's every value as text in one character set, timestamps as their instant in milliseconds: the
 * same for a book row and its copy exactly when nothing was lost or changed.
 */
function rowFingerprint(table: BookTable, hasPicture: boolean): string {
  const text = (column: string) => `CONVERT(${column} USING utf8mb4)`
  const instant = (column: string) => `ISNULL(${column}), IFNULL(ROUND(UNIX_TIMESTAMP(${column}) * 1000), 0)`
  const values: Record<BookTable, string[]> = {
    users: [
      'id',
      text('name'),
      text('email'),
      text('hashed_password'),
      text('profile'),
      hasPicture ? `ISNULL(profile_picture), IFNULL(${text('profile_picture')}, '')` : "1, ''",
      instant('created_at'),
      instant('updated_at')
    ],
    users_follow_list: ['user_id', 'follow_user_id', instant('created_at')],
    tweets: ['id', 'user_id', text('tweet'), instant('created_at')]
  }
  return `CRC32(CONCAT_WS(0x1f, ${values[table].join(', ')}))`
}

/** The refusal of a book database whose rows problems() found wanting. */
export function unadoptable(problems: string): string {
  return `This is the book's database, but its rows cannot be adopted as they are: ${problems}. Nothing was changed.`
}

export interface BookCounts {
  users: number
  users_follow_list: number
  tweets: number
}

export class BookAdoption {
  /** `db`: one connection (the migrator's, holding its lock), allowed several statements per query. */
  constructor(
    private readonly db: Queryable,
    private readonly progress: Progress
  ) {}

  async counts(survey: BookSurvey): Promise<BookCounts> {
    const counts = {} as BookCounts
    for (const table of bookTables) {
      const [[row]] = await this.db.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM ??', [survey.tables[table].name])
      counts[table] = Number(row.n)
    }
    return counts
  }

  /**
   * Why these rows cannot become Miniter's as they are, or undefined: what migrations/001's keys would
   * refuse (ids below 1, follows or tweets of users that do not exist, emails equal in its collation).
   * Reads only.
   */
  async problems(survey: BookSurvey): Promise<string | undefined> {
    const { users, users_follow_list: follows, tweets } = survey.tables
    const found: string[] = []
    const [[ids]] = await this.db.query<RowDataPacket[]>(
      'SELECT (SELECT MIN(id) FROM ??) AS user_id, (SELECT MIN(id) FROM ??) AS tweet_id',
      [users.name, tweets.name]
    )
    if (ids.user_id !== null && Number(ids.user_id) < 1) found.push('users with an id below 1')
    if (ids.tweet_id !== null && Number(ids.tweet_id) < 1) found.push('tweets with an id below 1')
    const [[orphans]] = await this.db.query<RowDataPacket[]>(
      `SELECT (SELECT COUNT(*) FROM ?? t WHERE NOT EXISTS (SELECT 1 FROM ?? u WHERE u.id = t.user_id)) AS tweets,
              (SELECT COUNT(*) FROM ?? f
                WHERE NOT EXISTS (SELECT 1 FROM ?? u WHERE u.id = f.user_id)
                   OR NOT EXISTS (SELECT 1 FROM ?? u WHERE u.id = f.follow_user_id)) AS follows`,
      [tweets.name, users.name, follows.name, users.name, users.name]
    )
    if (Number(orphans.tweets) > 0)
      found.push(`${formatCount(Number(orphans.tweets))} tweets of users that do not exist`)
    if (Number(orphans.follows) > 0) {
      found.push(`${formatCount(Number(orphans.follows))} follows naming users that do not exist`)
    }
    const [duplicates] = await this.db.query<RowDataPacket[]>(
      `SELECT GROUP_CONCAT(id ORDER BY id) AS ids FROM ??
        GROUP BY CONVERT(email USING utf8mb4) COLLATE utf8mb4_unicode_ci HAVING COUNT(*) > 1 LIMIT 5`,
      [users.name]
    )
    if (duplicates.length > 0) {
      const groups = duplicates.map((row) => `users ${String(row.ids)}`).join('; ')
      found.push(`emails that are equal ignoring case and accents, which Miniter keeps unique (${groups})`)
    }
    return found.length === 0 ? undefined : found.join(', ')
  }

  /** What adopt() does, in order, for a dry run. */
  steps(survey: BookSurvey, counts: BookCounts): string[] {
    const held = bookTables.map(heldName).join(', ')
    const picture = survey.tables.users.columns.includes('profile_picture')
      ? ''
      : '; users.profile_picture, which the book had not added yet, is empty'
    const charsets = [...new Set(bookTables.map((table) => survey.tables[table].collation))].join(', ')
    return [
      survey.resuming
        ? `resume an interrupted adoption: drop the partial copies, keep the book's tables held as ${held}`
        : `rename the book's tables to ${held} (held until their rows are copied and checked) and drop their foreign keys`,
      ...(survey.collation === miniterCollation
        ? []
        : [`change the database's default collation from ${survey.collation} to ${miniterCollation}`]),
      `create migrations/001's tables (utf8mb4_unicode_ci, unsigned ids, DATETIME(3), ON DELETE CASCADE keys)${picture}`,
      `copy ${formatCount(counts.users)} users, ${formatCount(counts.users_follow_list)} follows and ` +
        `${formatCount(counts.tweets)} tweets, ${formatCount(rowsPerCopy)} rows per statement, converting text from ` +
        `${charsets} and TIMESTAMPs to UTC DATETIME(3); keep the next ids`,
      'check that every row was copied unchanged (counts and checksums), then drop the held tables',
      'record migration 001 as applied (the baseline)',
      "after the migrations, put back users' updated_at, which migrations that update every user move"
    ]
  }

  /** Refuses (DatabaseRefused, nothing written) when problems() finds any. */
  async adopt(survey: BookSurvey, initSql: string): Promise<void> {
    const problems = await this.problems(survey)
    if (problems) throw new DatabaseRefused(unadoptable(problems))
    const counts = await this.counts(survey)
    this.progress(
      `adopting the book's database: ${formatCount(counts.users)} users, ${formatCount(counts.users_follow_list)} follows, ` +
        `${formatCount(counts.tweets)} tweets`
    )
    if (survey.resuming) {
      // Copies an interrupted adoption was making, dropped children first; the book's held tables stay.
      await this.db.query('DROP TABLE IF EXISTS tweets, users_follow_list, users')
      this.progress(`  resuming: the book's tables are held as ${bookTables.map(heldName).join(', ')}`)
    } else {
      await this.db.query(`RENAME TABLE ${bookTables.map((table) => `${table} TO ${heldName(table)}`).join(', ')}`)
      this.progress(`  held the book's tables as ${bookTables.map(heldName).join(', ')}`)
    }
    await this.dropHeldForeignKeys()
    if (survey.collation !== miniterCollation) {
      // As model/database.ts creates Miniter's databases: the routines of later migrations declare
      // parameters without a character set, which would otherwise be latin1 on a latin1 database.
      await this.db.query(`ALTER DATABASE CHARACTER SET utf8mb4 COLLATE ${miniterCollation}`)
      this.progress(`  changed the database's default collation from ${survey.collation} to ${miniterCollation}`)
    }
    await this.db.query(initSql)
    this.progress("  created migrations/001's tables")
    for (const table of bookTables) await this.copy(table, survey, counts[table])
    await this.keepNextIds()
    await timedStep(
      this.progress,
      'checked: every row copied unchanged (counts and checksums of all three tables)',
      () => this.check(survey)
    )
    await this.db.query(`DROP TABLE ${bookTables.map(heldName).reverse().join(', ')}`)
    this.progress("  dropped the book's held tables")
  }

  /**
   * Migrations that update every user (010's usernames) move users.updated_at, which on Miniter's rows says
   * when the row last changed: for the book's rows it is their own value, so it is kept in a temporary
   * table of this session and put back once the migrations are done (restoreUpdatedAt).
   */
  async keepUpdatedAt(): Promise<void> {
    await this.db.query(
      `CREATE TEMPORARY TABLE ${keptUpdatedAt} (id INT UNSIGNED NOT NULL PRIMARY KEY, updated_at DATETIME(3) NULL)`
    )
    await this.db.query(`INSERT INTO ${keptUpdatedAt} (id, updated_at) SELECT id, updated_at FROM users`)
  }

  async restoreUpdatedAt(): Promise<void> {
    const [[row]] = await this.db.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM ??', [keptUpdatedAt])
    const restored = new StepProgress(this.progress, "users' updated_at, as the book left it", Number(row.n))
    for await (const { from, to } of rangesOf(this.db, keptUpdatedAt, 'id', rowsPerCopy)) {
      const [result] = await this.db.query<ResultSetHeader>(
        `UPDATE users u JOIN ?? k ON k.id = u.id SET u.updated_at = k.updated_at WHERE u.id >= ? AND u.id < ?`,
        [keptUpdatedAt, from, to]
      )
      restored.advance(result.affectedRows)
    }
    await this.db.query('DROP TEMPORARY TABLE ??', [keptUpdatedAt])
    restored.finish('users')
  }

  /**
   * Foreign key names are unique in a database, and the held tables keep theirs: the book's under any
   * name, or 001's own when tables already copied are adopted again. They would clash with 001's, and
   * the held tables are only read from now on.
   */
  private async dropHeldForeignKeys(): Promise<void> {
    const [keys] = await this.db.query<RowDataPacket[]>(
      `SELECT TABLE_NAME AS table_name, CONSTRAINT_NAME AS name FROM information_schema.REFERENTIAL_CONSTRAINTS
        WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME IN (?)`,
      [bookTables.map(heldName)]
    )
    for (const key of keys) await this.db.query('ALTER TABLE ?? DROP FOREIGN KEY ??', [key.table_name, key.name])
  }

  private async copy(table: BookTable, survey: BookSurvey, total: number): Promise<void> {
    const held = heldName(table)
    const copied = new StepProgress(this.progress, `${table} copied`, total)
    for await (const { from, to } of rangesOf(this.db, held, rangeColumn[table], rowsPerCopy)) {
      const [result] = await this.db.query<ResultSetHeader>(
        `INSERT INTO ?? (${insertList[table]}) SELECT ${selectList(table, survey)} FROM ?? WHERE ?? >= ? AND ?? < ?`,
        [table, held, rangeColumn[table], from, rangeColumn[table], to]
      )
      copied.advance(result.affectedRows)
    }
    copied.finish('rows')
  }

  /** New users and tweets get the ids the book would have given next, never one it used and deleted. */
  private async keepNextIds(): Promise<void> {
    for (const table of ['users', 'tweets'] as const) {
      const [[held]] = await this.db.query<RowDataPacket[]>('SHOW CREATE TABLE ??', [heldName(table)])
      const next = /AUTO_INCREMENT=(\d+)/.exec(held['Create Table'] as string)
      if (next) await this.db.query('ALTER TABLE ?? AUTO_INCREMENT = ?', [table, Number(next[1])])
    }
  }

  /** Every table holds as many rows as the book's, each with the same values. */
  private async check(survey: BookSurvey): Promise<void> {
    const hasPicture = survey.tables.users.columns.includes('profile_picture')
    const fingerprint = async (table: BookTable, name: string, picture: boolean) => {
      const [[row]] = await this.db.query<RowDataPacket[]>(
        `SELECT COUNT(*) AS n, COALESCE(SUM(${rowFingerprint(table, picture)}), 0) AS sum FROM ??`,
        [name]
      )
      return `${String(row.n)} rows, checksum ${String(row.sum)}`
    }
    for (const table of bookTables) {
      // A book without users.profile_picture counts as NULL everywhere, as the copy must hold it.
      const book = await fingerprint(table, heldName(table), table !== 'users' || hasPicture)
      const copy = await fingerprint(table, table, true)
      if (book !== copy) {
        throw new Error(
          `Adoption stopped: ${table} holds ${copy} where the book's ${heldName(table)} holds ${book}. ` +
            `The book's tables are kept as ${bookTables.map(heldName).join(', ')}; the next start tries again.`
        )
      }
    }
  }
}
