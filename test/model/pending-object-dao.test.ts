import t from 'tap'
import { PendingObjectDao } from '../../model/pending-object-dao.ts'
import { testPool } from '../helper.ts'

t.test('PendingObjectDao', async (t) => {
  const pool = await testPool(t)
  const dao = new PendingObjectDao(pool)
  const at = (iso: string) => new Date(iso)

  t.test('due lists keys whose time has come, in key order, paged by key', async (t) => {
    await dao.insert(pool, 'profile/b.png', at('2030-01-01T00:00:00Z'))
    await dao.insert(pool, 'profile/a.png', at('2030-01-02T00:00:00Z'))
    await dao.insert(pool, 'profile/c.png', at('2030-01-03T00:00:00Z'))
    t.same(await dao.due(at('2029-12-31T00:00:00Z'), '', 10), [])
    t.same(await dao.due(at('2030-01-02T00:00:00Z'), '', 10), ['profile/a.png', 'profile/b.png'], 'at the time is due')
    t.same(await dao.due(at('2030-01-03T00:00:00Z'), '', 2), ['profile/a.png', 'profile/b.png'])
    t.same(await dao.due(at('2030-01-03T00:00:00Z'), 'profile/b.png', 2), ['profile/c.png'])
  })

  t.test('recording a key again moves its time; remove says whether there was a record', async (t) => {
    await dao.insert(pool, 'profile/c.png', at('2000-01-01T00:00:00Z'))
    t.same(await dao.due(at('2000-01-01T00:00:00Z'), '', 10), ['profile/c.png'])
    t.equal(await dao.remove(pool, 'profile/c.png'), true)
    t.equal(await dao.remove(pool, 'profile/c.png'), false)
    t.same(await dao.due(at('2040-01-01T00:00:00Z'), '', 10), ['profile/a.png', 'profile/b.png'])
  })

  t.test('inside a transaction, a write is undone with it', async (t) => {
    const connection = await pool.getConnection()
    t.teardown(() => connection.release())
    await connection.beginTransaction()
    await dao.insert(connection, 'profile/d.png', at('2000-01-01T00:00:00Z'))
    t.equal(await dao.remove(connection, 'profile/a.png'), true)
    await connection.rollback()
    t.same(await dao.due(at('2040-01-01T00:00:00Z'), '', 10), ['profile/a.png', 'profile/b.png'])
  })
})
