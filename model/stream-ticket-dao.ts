// One-time stream tickets (migrations/018): stored by the hash of their secret, redeemed once.
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
import type { Queryable } from './database.ts'

export class StreamTicketDao {
  constructor(private readonly pool: Pool) {}

  /** Records a ticket for userId, good for `seconds` by the database's clock; expired ones go (a bounded number). */
  async insert(hash: Buffer, userId: number, seconds: number): Promise<void> {
    await this.pool.execute(
      'INSERT INTO stream_tickets (ticket_hash, user_id, expires_at) VALUES (?, ?, NOW(3) + INTERVAL ? SECOND)',
      [hash, userId, seconds]
    )
    await this.pool.execute('DELETE FROM stream_tickets WHERE expires_at < NOW(3) LIMIT 100')
  }

  /**
   * Takes the ticket with this hash: its user when it existed and had not expired, else undefined. Either
   * way it is gone afterwards, so two redemptions racing each other get it once (the row lock).
   */
  async redeem(connection: Queryable, hash: Buffer): Promise<number | undefined> {
    const [rows] = await connection.execute<RowDataPacket[]>(
      'SELECT user_id, expires_at > NOW(3) AS valid FROM stream_tickets WHERE ticket_hash = ? FOR UPDATE',
      [hash]
    )
    if (rows.length === 0) return undefined
    const [result] = await connection.execute<ResultSetHeader>('DELETE FROM stream_tickets WHERE ticket_hash = ?', [
      hash
    ])
    return result.affectedRows > 0 && rows[0].valid === 1 ? (rows[0].user_id as number) : undefined
  }
}
