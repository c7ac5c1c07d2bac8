// RowCache over a real table: what it stores, what it drops, and what it must not keep.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import { RowCache } from '../../model/row-cache.ts'
import { UserDao } from '../../model/user-dao.ts'
import { testPool } from '../helper.ts'

t.test('RowCache', async (t) => {
  const pool = await testPool(t)
  const users = new UserDao(pool)
  const user = (name: string) =>
    users.insertUser({ name, username: name, email: `${name}@example.com`, profile: '', hashedPassword: 'x' })
  const read = async (ids: number[]) => {
    const [rows] = await pool.query<({ id: number; name: string } & RowDataPacket)[]>(
      'SELECT id, name FROM users WHERE id IN (?)',
      [ids]
    )
    return rows.map((row) => ({ id: row.id, name: row.name }))
  }
  const rename = (id: number, name: string) => pool.query('UPDATE users SET name = ? WHERE id = ?', [name, id])
  const names = async (cache: RowCache<{ id: number; name: string }>, ids: number[]) => {
    const rows = await cache.byIds(ids)
    return ids.map((id) => rows.get(id)?.name)
  }

  t.test('a read that began before a forget does not store what it read', async (t) => {
    const id = await user('racer')
    const cache = new RowCache(read, { ttlMs: 60_000, maxEntries: 10 })
    const reading = cache.byIds([id])
    cache.forget(id)
    t.equal((await reading).get(id)?.name, 'racer', 'the read still answers')
    await rename(id, 'racer 2')
    t.equal((await cache.byIds([id])).get(id)?.name, 'racer 2', 'read again: nothing was stored')
  })

  t.test('at most maxEntries rows are kept, the least recently fetched going first', async (t) => {
    const [a, b, c] = [await user('keep_a'), await user('keep_b'), await user('keep_c')]
    const cache = new RowCache(read, { ttlMs: 60_000, maxEntries: 2 })
    await cache.byIds([a])
    await cache.byIds([b])
    await rename(a, 'a changed')
    await rename(b, 'b changed')
    t.same(await names(cache, [a, b]), ['keep_a', 'keep_b'], 'both kept: two entries fit')
    await cache.byIds([c])
    t.same(await names(cache, [a, b]), ['a changed', 'keep_b'], 'a, fetched first, went')
  })

  t.test('a stale entry whose row is gone is dropped by the refresh; the others are refreshed', async (t) => {
    const [gone, kept] = [await user('gone'), await user('kept')]
    const cache = new RowCache(read, { ttlMs: 30, maxEntries: 10 })
    await cache.byIds([gone, kept])
    await pool.query('DELETE FROM users WHERE id = ?', [gone])
    await rename(kept, 'kept 2')
    await sleep(60)
    const old = await cache.byIds([gone, kept])
    t.same([old.get(gone)?.name, old.get(kept)?.name], ['gone', 'kept'], 'stale entries are answered')
    await cache.settled()
    const fresh = await cache.byIds([gone, kept])
    t.same([fresh.has(gone), fresh.get(kept)?.name], [false, 'kept 2'])
  })
})
