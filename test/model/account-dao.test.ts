// AccountDao: the rows an erased account leaves, deleted a bounded number at a time, and its media handed
// to purge as pending objects in the caller's transaction.
import t from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import { AccountDao, ownedRowKinds } from '../../model/account-dao.ts'
import { Transactor } from '../../model/database.ts'
import { UserDao } from '../../model/user-dao.ts'
import { testPool } from '../helper.ts'

t.test('AccountDao', async (t) => {
  const pool = await testPool(t)
  const dao = new AccountDao(pool)
  const users = new UserDao(pool)
  const transactor = new Transactor(pool)
  const user = (name: string) =>
    users.insertUser({ name, username: name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
  const [gone, other, third] = [await user('gone'), await user('other'), await user('third')]
  const count = async (sql: string, values: unknown[]) => {
    const [rows] = await pool.query<RowDataPacket[]>(sql, values)
    return Number(rows[0].n)
  }

  t.test('deleteOwned removes each kind of row naming the account, at most `limit` at a time', async (t) => {
    await pool.query(
      `INSERT INTO notifications (user_id, actor_id, type) VALUES (?, ?, 'follow'), (?, ?, 'follow'), (?, ?, 'follow')`,
      [gone, other, gone, third, other, gone]
    )
    await pool.query('INSERT INTO blocks (user_id, blocked_id) VALUES (?, ?), (?, ?)', [gone, other, third, gone])
    await pool.query('INSERT INTO mutes (user_id, muted_id) VALUES (?, ?), (?, ?)', [gone, third, other, gone])
    await pool.query(
      `INSERT INTO revoked_tokens (token_id, user_id, expires_at) VALUES ('a', ?, NOW()), ('b', ?, NOW())`,
      [gone, other]
    )
    t.equal(await dao.deleteOwned('notifications_to', gone, 1), 1, 'one of two')
    t.equal(await dao.deleteOwned('notifications_to', gone, 10), 1, 'then the other')
    t.equal(await dao.deleteOwned('notifications_to', gone, 10), 0, 'then none')
    t.equal(await dao.deleteOwned('notifications_from', gone, 10), 1)
    for (const kind of ['blocks_by', 'blocks_of', 'mutes_by', 'mutes_of', 'revoked_tokens'] as const) {
      t.equal(await dao.deleteOwned(kind, gone, 10), 1, kind)
    }
    t.equal(await count('SELECT COUNT(*) AS n FROM revoked_tokens WHERE user_id = ?', [other]), 1, 'others stay')
    for (const kind of ownedRowKinds) t.equal(await dao.deleteOwned(kind, gone, 10), 0, `${kind}: none left`)
  })

  t.test('releaseMedia records each object for purge and removes its row, in the transaction', async (t) => {
    const keys = ['media/1.png', 'media/2.png', 'media/3.png']
    for (const key of keys) {
      await pool.query(
        "INSERT INTO media (user_id, storage_key, content_type, status) VALUES (?, ?, 'image/png', 'ready')",
        [gone, key]
      )
    }
    await pool.query(
      "INSERT INTO media (user_id, storage_key, content_type, status) VALUES (?, 'media/x.png', 'image/png', 'ready')",
      [other]
    )
    const rolledBack = transactor.run(async (connection) => {
      t.equal(await dao.releaseMedia(connection, gone, 10), 3)
      throw new Error('rolled back')
    })
    await t.rejects(rolledBack, { message: 'rolled back' })
    t.equal(await count('SELECT COUNT(*) AS n FROM media WHERE user_id = ?', [gone]), 3, 'a rollback keeps the rows')
    t.equal(await count('SELECT COUNT(*) AS n FROM pending_objects', []), 0, 'and records nothing')
    t.equal(await transactor.run((connection) => dao.releaseMedia(connection, gone, 2)), 2)
    t.equal(await transactor.run((connection) => dao.releaseMedia(connection, gone, 2)), 1)
    t.equal(await transactor.run((connection) => dao.releaseMedia(connection, gone, 2)), 0)
    const [pending] = await pool.query<RowDataPacket[]>(
      'SELECT storage_key, purge_after <= NOW(3) AS due FROM pending_objects ORDER BY storage_key'
    )
    t.same(
      pending.map((row) => [row.storage_key, row.due]),
      keys.map((key) => [key, 1]),
      'every object is due for purge at once'
    )
    t.equal(await count('SELECT COUNT(*) AS n FROM media WHERE user_id = ?', [other]), 1, 'others’ media stay')
  })
})
