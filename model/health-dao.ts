// The database's side of the readiness check.
import type { Pool } from 'mysql2/promise'

export class HealthDao {
  constructor(private readonly pool: Pool) {}

  /** Resolves when the database answers a trivial statement; rejects with the driver's error otherwise. */
  async ping(): Promise<void> {
    await this.pool.query('SELECT 1')
  }
}
