// migrations/010: the usernames of the users who signed up before there were any, on a database that holds
// conflicting and awkward emails.
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RowDataPacket } from 'mysql2/promise'
import t, { type Test } from 'tap'
import { createPool } from '../../model/database.ts'
import { Migrator, migrationsDir } from '../../model/migrator.ts'
import { TweetDao } from '../../model/tweet-dao.ts'
import { usernameFromEmail } from '../../service/user-service.ts'
import { emptyTestDatabaseUrl } from '../helper.ts'

/** A directory holding the migrations up to `version`, for a database that stops there. */
async function migrationsUpTo(t: Test, version: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'miniter-migrations-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  for (const file of await readdir(migrationsDir)) {
    const match = /^(\d+)_/.exec(file)
    if (match && Number(match[1]) <= version) await copyFile(join(migrationsDir, file), join(dir, file))
  }
  return dir
}

const x40 = 'x'.repeat(40)
const maxId = 2 ** 32 - 1

// In id order (ids 1 to 13, then the largest id a user can have), each with the username it must get.
const users: { email: string; username: string; id?: number }[] = [
  { email: 'bob@a.com', username: 'bob' },
  { email: 'Bob@b.com', username: 'Bob_2' },
  { email: 'b@c.com', username: 'b__' },
  { email: 'a+b.c@d.com', username: 'a_b_c' },
  { email: `${x40}@e.com`, username: 'x'.repeat(30) },
  { email: `${x40}@f.com`, username: `${'x'.repeat(28)}_6` },
  { email: '+-.+@g.com', username: '___' },
  // Its plain form is user 2's suffixed one: it yields, and then user 9's plain form is its new one.
  { email: 'bob_2@h.com', username: 'bob_2_8' },
  { email: 'bob_2_8@i.com', username: 'bob_2_8_9' },
  { email: '송은우@k.com', username: '____10' },
  { email: 'BOB@l.com', username: 'BOB_11' },
  { email: 'first.last+tag@m.com', username: 'first_last_tag' },
  { email: '"a@b"@n.com', username: '_a_b_' },
  { email: `${x40}@z.com`, username: `${'x'.repeat(19)}_${maxId}`, id: maxId }
]

t.test('migration 010 gives every existing user a unique username from their email', async (t) => {
  const url = await emptyTestDatabaseUrl(t)
  const upTo10 = await migrationsUpTo(t, 10)
  await new Migrator(url, await migrationsUpTo(t, 9)).up()
  const pool = createPool(url)
  t.teardown(() => pool.end())
  await pool.query('INSERT INTO users (id, name, email, hashed_password, profile) VALUES ?', [
    users.map((user, i) => [user.id ?? i + 1, `user ${i + 1}`, user.email, 'x', ''])
  ])
  t.same(await new Migrator(url, upTo10).up(), [10])
  const usernames = async () => {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT email, username FROM users ORDER BY id')
    return rows.map((row) => ({ email: row.email as string, username: row.username as string }))
  }

  t.test('each gets its email’s username, the oldest keeping a shared one, the others suffixed', async (t) => {
    t.same(
      await usernames(),
      users.map(({ email, username }) => ({ email, username }))
    )
  })

  t.test('a username kept plain is the one sign-up would generate from the email', async (t) => {
    for (const { email, username } of [users[0], users[2], users[3], users[4], users[6], users[11], users[12]]) {
      t.equal(usernameFromEmail(email), username, email)
    }
  })

  t.test('every username is a valid one, unique whatever its case', async (t) => {
    const names = (await usernames()).map((row) => row.username)
    for (const name of names) t.match(name, /^[A-Za-z0-9_]{3,30}$/)
    t.equal(new Set(names.map((name) => name.toLowerCase())).size, names.length)
  })

  t.test('the column is NOT NULL under a unique key that ignores case', async (t) => {
    const [columns] = await pool.query<RowDataPacket[]>(
      `SELECT is_nullable FROM information_schema.columns
        WHERE table_schema = DATABASE() AND table_name = 'users' AND column_name = 'username'`
    )
    t.equal(columns[0].is_nullable, 'NO')
    // Explicit ids: the user with the largest id has used up the counter.
    const insert = 'INSERT INTO users (id, name, username, email, hashed_password, profile) VALUES (100, ?, ?, ?, ?, ?)'
    await t.rejects(pool.query(insert, ['n', 'BOB', 'n@o.com', 'x', '']), { code: 'ER_DUP_ENTRY' })
    await t.rejects(pool.query(insert, ['n', null, 'n@o.com', 'x', '']), { code: 'ER_BAD_NULL_ERROR' })
  })

  t.test('post_tweet answers the author’s username too', async (t) => {
    t.match(await new TweetDao(pool).postTweet(2, 'hello'), { name: 'user 2', username: 'Bob_2' })
  })

  t.test('down removes the column and gives post_tweet back its old answer; up again is deterministic', async (t) => {
    const before = await usernames()
    t.same(await new Migrator(url, upTo10).down(1), [10])
    const [columns] = await pool.query<RowDataPacket[]>("SHOW COLUMNS FROM users LIKE 'username'")
    t.equal(columns.length, 0)
    const posted = await new TweetDao(pool).postTweet(2, 'after down')
    t.match(posted, { name: 'user 2' })
    t.notOk(posted && 'username' in posted)
    t.same(await new Migrator(url, upTo10).up(), [10])
    t.same(await usernames(), before)
  })
})
