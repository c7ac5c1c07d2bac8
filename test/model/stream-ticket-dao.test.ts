// StreamTicketDao: a ticket redeemed once, by its hash; an expired one never; expired rows cleared.
import { createHash } from 'node:crypto'
import t from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import { Transactor } from '../../model/database.ts'
import { StreamTicketDao } from '../../model/stream-ticket-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { testPool } from '../helper.ts'

const hash = (text: string) => createHash('sha256').update(text).digest()

t.test('StreamTicketDao', async (t) => {
  const pool = await testPool(t)
  const dao = new StreamTicketDao(pool)
  const transactor = new Transactor(pool)
  const user = await new UserDao(pool).insertUser({
    name: 'reader',
    username: 'reader',
    email: 'reader@example.com',
    profile: '',
    hashedPassword: 'x'
  })
  const redeem = (text: string) => transactor.run((connection) => dao.redeem(connection, hash(text)))
  const count = async () => {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM stream_tickets')
    return Number(rows[0].n)
  }

  t.test('a ticket answers its user once, then nothing', async (t) => {
    await dao.insert(hash('one'), user, 30)
    t.equal(await redeem('one'), user)
    t.equal(await redeem('one'), undefined)
    t.equal(await redeem('never issued'), undefined)
    t.equal(await count(), 0)
  })

  t.test('an expired ticket answers nothing and is gone after the attempt', async (t) => {
    await dao.insert(hash('late'), user, 30)
    await pool.query('UPDATE stream_tickets SET expires_at = NOW(3) - INTERVAL 1 SECOND')
    t.equal(await redeem('late'), undefined)
    t.equal(await count(), 0)
  })

  t.test('a ticket taken by another redemption between the read and the delete answers nothing', async (t) => {
    await dao.insert(hash('raced'), user, 30)
    // Without a transaction the read's row lock ends with it: another redemption may delete the row
    // before this one does. This pool does exactly that after the read.
    const racing = new Proxy(pool, {
      get(target, property, receiver) {
        if (property !== 'execute') return Reflect.get(target, property, receiver) as unknown
        return async (sql: string, values: [Buffer]) => {
          const answer = await target.execute(sql, values)
          if (sql.startsWith('SELECT')) await target.execute('DELETE FROM stream_tickets WHERE ticket_hash = ?', values)
          return answer
        }
      }
    })
    t.equal(await dao.redeem(racing, hash('raced')), undefined)
    t.equal(await count(), 0)
  })

  t.test('issuing clears expired tickets', async (t) => {
    await dao.insert(hash('old'), user, 30)
    await pool.query('UPDATE stream_tickets SET expires_at = NOW(3) - INTERVAL 1 SECOND')
    await dao.insert(hash('new'), user, 30)
    t.equal(await count(), 1)
    t.equal(await redeem('new'), user)
  })
})
