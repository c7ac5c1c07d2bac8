// Readiness: whether this instance can serve data routes right now.
import type { HealthDao } from '../model/health-dao.ts'
import { Unavailable } from './errors.ts'

export class HealthService {
  constructor(private readonly healthDao: HealthDao) {}

  /** Throws Unavailable whatever the cause (refused, timed out, queue full), so the check never answers 500. */
  async assertReady(): Promise<void> {
    try {
      await this.healthDao.ping()
    } catch (error) {
      throw new Unavailable('The database is not answering', {}, { cause: error })
    }
  }
}
