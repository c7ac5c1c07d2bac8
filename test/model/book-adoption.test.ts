// The migrator on databases it did not make: the book's (adopted, every row kept, the schema afterwards
// Miniter's own), and others (refused, untouched); what a dry run reads; an adoption that was interrupted.
import type { RowDataPacket } from 'mysql2/promise'
import t, { type Test } from 'tap'
import { createPool, type Pool } from '../../model/database.ts'
import { DatabaseRefused, heldName, surveyDatabase, bookTables } from '../../model/database-survey.ts'
import { backfills, withoutReplaced } from '../../model/migration-backfills.ts'
import { migrationLabel, Migrator, readMigrations } from '../../model/migrator.ts'
import { ConsistencyDao, noViolations } from '../consistency.ts'
import {
  createBookDatabase,
  instantOf,
  snapshotOf,
  type BookCharset,
  type BookData,
  type BookFixtureOptions
} from '../fixtures/book.ts'
import { emptyTestDatabaseUrl, testDatabaseUrl } from '../helper.ts'

/** Over the fixture's 5 followers of user 7 and under everyone else's. */
const fanoutMaxFollowers = 4

function poolFor(t: Test, url: string): Pool {
  const pool = createPool(url, { connectionLimit: 1, multipleStatements: true })
  t.teardown(() => pool.end())
  return pool
}

async function bookDatabase(t: Test, options: BookFixtureOptions = {}): Promise<{ url: string; data: BookData }> {
  const url = await emptyTestDatabaseUrl(t)
  return { url, data: await createBookDatabase(url, options) }
}

function migrator(url: string, lines: string[] = []): Migrator {
  return new Migrator(url, undefined, { fanoutMaxFollowers, progress: (line) => lines.push(line) })
}

/** The error up() fails with; fails the test if it succeeds. */
async function refusalOf(migrator: Migrator): Promise<Error> {
  return migrator.up().then(
    (applied) => {
      throw new Error(`expected a refusal, but migrations ${applied.join(', ')} were applied`)
    },
    (error: unknown) => error as Error
  )
}

/** Miniter's schema as information_schema describes it: what a fresh database and an adopted one must share. */
async function schemaOf(pool: Pool): Promise<Record<string, unknown[]>> {
  const queries: Record<string, string> = {
    schema:
      'SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()',
    tables: `SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION FROM information_schema.TABLES
              WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME`,
    columns: `SELECT TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA,
                     CHARACTER_SET_NAME, COLLATION_NAME
                FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    indexes: `SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, SUB_PART
                FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()
               ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    foreignKeys: `SELECT r.TABLE_NAME, r.CONSTRAINT_NAME, k.COLUMN_NAME, r.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME,
                         r.UPDATE_RULE, r.DELETE_RULE
                    FROM information_schema.REFERENTIAL_CONSTRAINTS r
                    JOIN information_schema.KEY_COLUMN_USAGE k
                      ON k.CONSTRAINT_SCHEMA = r.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = r.CONSTRAINT_NAME
                     AND k.TABLE_NAME = r.TABLE_NAME AND k.REFERENCED_TABLE_NAME IS NOT NULL
                   WHERE r.CONSTRAINT_SCHEMA = DATABASE() ORDER BY r.TABLE_NAME, r.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
    routines: `SELECT ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, ROUTINE_DEFINITION, DATABASE_COLLATION
                 FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY ROUTINE_NAME`,
    parameters: `SELECT SPECIFIC_NAME, ORDINAL_POSITION, PARAMETER_NAME, DTD_IDENTIFIER, CHARACTER_SET_NAME, COLLATION_NAME
                   FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = DATABASE()
                  ORDER BY SPECIFIC_NAME, ORDINAL_POSITION`,
    triggers: `SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_TIMING, ACTION_STATEMENT, DATABASE_COLLATION
                 FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY TRIGGER_NAME`,
    migrations: 'SELECT version, name FROM schema_migrations ORDER BY version'
  }
  const schema: Record<string, unknown[]> = {}
  for (const [name, sql] of Object.entries(queries)) [schema[name]] = await pool.query<RowDataPacket[]>(sql)
  return schema
}

t.test('the survey names what a database holds before anything is written', async (t) => {
  const empty = await emptyTestDatabaseUrl(t)
  t.same(await surveyDatabase(poolFor(t, empty)), { kind: 'empty' })
  t.same(await surveyDatabase(poolFor(t, await testDatabaseUrl(t))), { kind: 'miniter' })
  const { url } = await bookDatabase(t, { charset: 'latin1', profilePicture: false })
  const survey = await surveyDatabase(poolFor(t, url))
  t.match(survey, {
    kind: 'book',
    resuming: false,
    collation: 'latin1_swedish_ci',
    tables: {
      users: { name: 'users', collation: 'latin1_swedish_ci' },
      users_follow_list: { name: 'users_follow_list' },
      tweets: { name: 'tweets', columns: ['id', 'user_id', 'tweet', 'created_at'] }
    }
  })
  t.notOk(survey.kind === 'book' && survey.tables.users.columns.includes('profile_picture'))
})

t.test('a database that is neither empty, nor Miniter’s, nor the book’s is refused untouched', async (t) => {
  const cases: { name: string; build: (pool: Pool) => Promise<unknown>; says: RegExp }[] = [
    {
      name: 'tables of another application',
      build: (pool) => pool.query('CREATE TABLE accounts (id INT PRIMARY KEY); INSERT INTO accounts VALUES (1)'),
      says: /it holds accounts\./
    },
    {
      name: 'the book’s tables and another',
      build: (pool) => pool.query('CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)'),
      says: /it holds alembic_version, tweets, users, users_follow_list\./
    },
    {
      name: 'a book table with a column of its own',
      build: (pool) => pool.query("ALTER TABLE users ADD COLUMN nickname VARCHAR(50) NOT NULL DEFAULT 'x'"),
      says: /users has column\(s\) the book's schema does not: nickname \(adopting it would lose them\)/
    },
    {
      name: 'a book table without one of the book’s columns',
      build: (pool) => pool.query('ALTER TABLE tweets DROP COLUMN created_at'),
      says: /tweets lacks the book's column\(s\) created_at/
    },
    {
      name: 'a view where a book table should be',
      build: (pool) =>
        pool.query(
          'SET FOREIGN_KEY_CHECKS = 0; RENAME TABLE tweets TO old_tweets; CREATE VIEW tweets AS SELECT * FROM old_tweets'
        ),
      says: /it holds old_tweets, tweets \(a view\), users, users_follow_list\./
    }
  ]
  for (const { name, build, says } of cases) {
    t.test(name, async (t) => {
      const { url } =
        name === 'tables of another application' ? { url: await emptyTestDatabaseUrl(t) } : await bookDatabase(t)
      await build(poolFor(t, url))
      const before = await snapshotOf(url)
      const refused = await refusalOf(migrator(url))
      t.type(refused, DatabaseRefused)
      t.match(refused.message, /is neither empty, nor Miniter's .*, nor the one the book's SQL creates/)
      t.match(refused.message, says)
      t.match(refused.message, /Nothing was changed\./)
      t.same(await snapshotOf(url), before, 'no table, row or collation changed; no schema_migrations')
      const plan = await migrator(url).plan()
      t.equal(plan.refusal, refused.message, 'a dry run says the same')
      t.same(await migrator(url).down(3), [], 'migrate down reverts nothing')
      t.same(await snapshotOf(url), before)
    })
  }
})

t.test('a book database whose rows Miniter’s keys would refuse is refused untouched, saying which', async (t) => {
  const { url } = await bookDatabase(t)
  const pool = poolFor(t, url)
  // As a server without foreign key checks (or MyISAM tables) could have let them in.
  await pool.query(
    `ALTER TABLE users MODIFY email VARCHAR(255) COLLATE utf8mb4_bin NOT NULL;
     INSERT INTO users (id, name, email, hashed_password, profile) VALUES (20, 'a', 'Twin@example.com', 'x', ''), (21, 'b', 'twin@example.com', 'x', '');
     SET FOREIGN_KEY_CHECKS = 0;
     INSERT INTO tweets (user_id, tweet) VALUES (99, 'nobody wrote this');
     INSERT INTO users_follow_list (user_id, follow_user_id) VALUES (1, 98)`
  )
  const before = await snapshotOf(url)
  const plan = await migrator(url).plan()
  const error = await refusalOf(migrator(url))
  t.type(error, DatabaseRefused)
  t.match(error.message, "This is the book's database, but its rows cannot be adopted as they are")
  t.match(error.message, '1 tweets of users that do not exist')
  t.match(error.message, '1 follows naming users that do not exist')
  t.match(error.message, 'emails that are equal ignoring case and accents, which Miniter keeps unique (users 20,21)')
  t.equal(plan.refusal, error.message, 'a dry run says the same')
  t.same(await snapshotOf(url), before)
})

/** The rows of an adopted database as the book's fixture must find them: times as instants. */
async function adoptedRows(pool: Pool) {
  const [users] = await pool.query<RowDataPacket[]>(
    'SELECT id, name, email, hashed_password, profile, profile_picture, created_at, updated_at FROM users ORDER BY id'
  )
  const [follows] = await pool.query<RowDataPacket[]>(
    'SELECT user_id, follow_user_id, created_at FROM users_follow_list ORDER BY user_id, follow_user_id'
  )
  const [tweets] = await pool.query<RowDataPacket[]>('SELECT id, user_id, tweet, created_at FROM tweets ORDER BY id')
  return { users, follows, tweets }
}

function expectedRows(data: BookData) {
  return {
    users: data.users.map((u) => ({
      id: u.id,
      name: u.name,
      email: u.email,
      hashed_password: u.hashed_password,
      profile: u.profile,
      profile_picture: u.profile_picture,
      created_at: instantOf(u.created_at),
      updated_at: u.updated_at === null ? null : instantOf(u.updated_at)
    })),
    follows: [...data.follows]
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .map(([user_id, follow_user_id, created_at]) => ({ user_id, follow_user_id, created_at: instantOf(created_at) })),
    tweets: data.tweets.map((tweet) => ({ ...tweet, created_at: instantOf(tweet.created_at) }))
  }
}

const variants: { charset: BookCharset; profilePicture: boolean }[] = [
  { charset: 'utf8mb4', profilePicture: true },
  { charset: 'latin1', profilePicture: false },
  { charset: 'utf8', profilePicture: true }
]

t.test('adopting the book’s database', async (t) => {
  const fresh = await schemaOf(poolFor(t, await testDatabaseUrl(t)))
  const migrations = await readMigrations()
  for (const { charset, profilePicture } of variants) {
    t.test(`${charset} tables ${profilePicture ? 'with' : 'without'} profile_picture`, async (t) => {
      const { url, data } = await bookDatabase(t, { charset, profilePicture })
      const before = await snapshotOf(url)
      const plan = await migrator(url).plan()
      t.same(await snapshotOf(url), before, 'a dry run changes nothing')
      t.same(
        plan.pending.map((m) => m.version),
        migrations.map((m) => m.version),
        'the plan: every migration, 001 as the baseline'
      )
      t.same(plan.adoption?.counts, { users: 7, users_follow_list: 14, tweets: 150 })
      t.match(
        plan.adoption?.steps.join('\n'),
        /rename the book's tables to book_users, book_users_follow_list, book_tweets/
      )

      const lines: string[] = []
      const adopting = migrator(url, lines)
      t.same(
        await adopting.up(),
        migrations.map((m) => m.version)
      )
      t.ok(adopting.adopted)
      const pool = poolFor(t, url)

      t.test('every row is kept: ids, text, emails, hashes and instants', async (t) => {
        t.same(await adoptedRows(pool), expectedRows(data))
      })

      t.test('the schema is the one a fresh database migrates to', async (t) => {
        t.same(await schemaOf(pool), fresh)
      })

      t.test('the next tweet gets the id the book would have given it', async (t) => {
        const [[row]] = await pool.query<RowDataPacket[]>(
          "SELECT AUTO_INCREMENT AS next FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'tweets'"
        )
        t.equal(Number(row.next), data.nextTweetId)
      })

      t.test('counters, fan-out modes, timeline gaps and search words are filled from the rows', async (t) => {
        const [users] = await pool.query<RowDataPacket[]>(
          `SELECT id, followers_count, following_count, tweets_count, fanout, pulled_following_count, timeline_horizon
             FROM users ORDER BY id`
        )
        const horizon = Math.max(...data.tweets.map((tweet) => tweet.id)) + 1
        t.same(
          users,
          data.users.map((u) => {
            const followers = data.follows.filter(([, followee]) => followee === u.id).length
            return {
              id: u.id,
              followers_count: followers,
              following_count: data.follows.filter(([follower]) => follower === u.id).length,
              tweets_count: data.tweets.filter((tweet) => tweet.user_id === u.id).length,
              fanout: followers > fanoutMaxFollowers ? 'pull' : 'push',
              pulled_following_count: data.follows.filter(([follower, followee]) => follower === u.id && followee === 7)
                .length,
              timeline_horizon: horizon
            }
          })
        )
        const [gaps] = await pool.query<RowDataPacket[]>(
          'SELECT owner_id, author_id, below_id FROM timeline_gaps ORDER BY owner_id, author_id'
        )
        const expectedGaps = data.users
          .flatMap((u) =>
            [u.id, ...data.follows.filter(([follower]) => follower === u.id).map(([, followee]) => followee)].map(
              (author) => [u.id, author]
            )
          )
          .sort((a, b) => a[0] - b[0] || a[1] - b[1])
          .map(([owner_id, author_id]) => ({ owner_id, author_id, below_id: horizon }))
        t.same(gaps, expectedGaps, 'a gap below every tweet for each user and each account they follow')
        const [[entries]] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM timeline_entries')
        t.equal(Number(entries.n), 0, 'no tweet is copied into a timeline')
        // The same tweets written into a fresh database, whose trigger indexes each as it is inserted.
        const written = poolFor(t, await testDatabaseUrl(t))
        await written.query('INSERT INTO users (id, name, username, email, hashed_password, profile) VALUES ?', [
          data.users.map((u) => [u.id, u.name, `user_${u.id}`, u.email, u.hashed_password, u.profile])
        ])
        await written.query('INSERT INTO tweets (id, user_id, tweet) VALUES ?', [
          data.tweets.map((tweet) => [tweet.id, tweet.user_id, tweet.tweet])
        ])
        const words = async (db: Pool) =>
          (await db.query<RowDataPacket[]>('SELECT tweet_id, word FROM tweet_words ORDER BY tweet_id, word'))[0]
        t.same(await words(pool), await words(written), 'search words as the trigger makes them')
      })

      t.test('every invariant holds', async (t) => {
        t.same(await new ConsistencyDao(pool).violations(), noViolations)
      })

      t.test('usernames come from the emails, as for any user before usernames', async (t) => {
        const [rows] = await pool.query<RowDataPacket[]>('SELECT username FROM users ORDER BY id')
        t.same(
          rows.map((row) => row.username),
          ['eunwoo', 'bob', 'minji', 'carol', 'dave', 'Erin_Kim', 'star']
        )
      })

      t.test('progress says what was done, step by step, with row counts', async (t) => {
        const text = lines.join('\n')
        t.match(text, "adopting the book's database: 7 users, 14 follows, 150 tweets")
        t.match(text, /users copied: 7 rows in \d+\.\d s/)
        t.match(text, /users_follow_list copied: 14 rows in/)
        t.match(text, /tweets copied: 150 rows in/)
        t.match(text, 'checked: every row copied unchanged')
        t.match(text, 'recorded 001_init as the baseline')
        t.match(text, /applying 002_timeline\n {2}counters and timeline horizons: 7 users in/)
        t.match(text, "accounts with more than 4 followers, read by their followers ('pull'): 1")
        t.match(text, /timeline gaps: 21 gaps in/)
        t.match(text, /search words: 150 tweets \(\d+ words\) in/)
        t.match(text, `applying ${migrationLabel(migrations.at(-1)!)}\n  applied in`)
        if (charset !== 'utf8mb4') {
          t.match(text, `changed the database's default collation from ${charset === 'utf8' ? 'utf8mb3' : charset}`)
        }
      })

      t.test('the next start finds Miniter’s database with nothing to do', async (t) => {
        const again = migrator(url)
        t.same(await again.up(), [])
        t.notOk(again.adopted)
        t.same(await adoptedRows(pool), expectedRows(data))
      })
    })
  }
})

t.test('an adoption interrupted while copying starts again from the book’s held tables', async (t) => {
  const { url, data } = await bookDatabase(t)
  const pool = poolFor(t, url)
  const [init] = await readMigrations()
  // As a crash would leave it: the book's tables held aside, 001's tables made and partly filled.
  await pool.query(`RENAME TABLE ${bookTables.map((table) => `${table} TO ${heldName(table)}`).join(', ')}`)
  await pool.query(init.up)
  await pool.query(
    `INSERT INTO users (id, name, email, hashed_password, profile, created_at)
     SELECT id, name, email, hashed_password, profile, created_at FROM book_users WHERE id <= 3`
  )
  t.match(await surveyDatabase(pool), { kind: 'book', resuming: true, tables: { users: { name: 'book_users' } } })
  const plan = await migrator(url).plan()
  t.match(plan.adoption?.steps[0], 'resume an interrupted adoption')
  const lines: string[] = []
  t.equal((await migrator(url, lines).up()).length, (await readMigrations()).length)
  t.match(lines.join('\n'), "resuming: the book's tables are held as book_users")
  t.same(await adoptedRows(pool), expectedRows(data))
  t.same(await new ConsistencyDao(pool).violations(), noViolations)
})

t.test('tables already copied, whose adoption stopped before its record, are adopted again unchanged', async (t) => {
  const { url, data } = await bookDatabase(t, { charset: 'latin1' })
  const pool = poolFor(t, url)
  const [init] = await readMigrations()
  // As a crash between dropping the held tables and recording 001 would leave it.
  await pool.query(`RENAME TABLE ${bookTables.map((table) => `${table} TO ${heldName(table)}`).join(', ')}`)
  await pool.query(init.up)
  await pool.query(
    `INSERT INTO users (id, name, email, hashed_password, profile, profile_picture, created_at, updated_at)
       SELECT id, name, email, hashed_password, profile, profile_picture, created_at, updated_at FROM book_users;
     INSERT INTO users_follow_list SELECT * FROM book_users_follow_list;
     INSERT INTO tweets SELECT * FROM book_tweets`
  )
  await pool.query('DROP TABLE book_tweets, book_users_follow_list, book_users')
  t.match(await surveyDatabase(pool), { kind: 'book', resuming: false })
  await migrator(url).up()
  t.same(await adoptedRows(pool), expectedRows(data))
})

t.test('without a fan-out threshold every account stays push; without tweets no timeline has a gap', async (t) => {
  const { url, data } = await bookDatabase(t, { charset: 'utf8' })
  const pool = poolFor(t, url)
  await pool.query('DELETE FROM tweets')
  await new Migrator(url).up()
  const [users] = await pool.query<RowDataPacket[]>(
    'SELECT id, followers_count, tweets_count, fanout, timeline_horizon FROM users ORDER BY id'
  )
  t.same(
    users,
    data.users.map((u) => ({
      id: u.id,
      followers_count: data.follows.filter(([, followee]) => followee === u.id).length,
      tweets_count: 0,
      fanout: 'push',
      timeline_horizon: 0
    }))
  )
  const [[counts]] = await pool.query<RowDataPacket[]>(
    'SELECT (SELECT COUNT(*) FROM timeline_gaps) AS gaps, (SELECT COUNT(*) FROM pulled_follows) AS pulled'
  )
  t.same({ ...counts }, { gaps: 0, pulled: 0 })
  t.same(await new ConsistencyDao(pool).violations(), noViolations)
})

t.test('the held book tables beside tables that are not migrations/001’s are somebody’s data: refused', async (t) => {
  const { url } = await bookDatabase(t)
  const pool = poolFor(t, url)
  await pool.query(`RENAME TABLE ${bookTables.map((table) => `${table} TO ${heldName(table)}`).join(', ')}`)
  await pool.query('CREATE TABLE users (id INT PRIMARY KEY, login VARCHAR(50))')
  const before = await snapshotOf(url)
  const refused = await refusalOf(migrator(url))
  t.match(refused.message, "users is neither the book's table nor Miniter's")
  t.same(await snapshotOf(url), before)
})

t.test('a backfill replaces exactly one statement of its migration, or the migration fails loudly', async (t) => {
  const timeline = backfills.get(2)!
  const [, second] = await readMigrations()
  t.notMatch(withoutReplaced(second.up, timeline, '002_timeline'), /INSERT INTO timeline_entries/)
  t.throws(() => withoutReplaced('SELECT 1;', timeline, '002_changed'), {
    message: /^Migration 002_changed: 0 statements match .* the backfill replaces one$/
  })
  t.throws(() => withoutReplaced(`${second.up}\n${second.up}`, timeline, '002_twice'), {
    message: /: 2 statements match/
  })
})
