// Readiness: whether this instance can serve data routes right now, and how far fan-out lags behind.
import type { Backlog, FanoutService } from './fanout-service.ts'
import { Unavailable } from './errors.ts'

export class HealthService {
  constructor(private readonly fanout: FanoutService) {}

  /**
   * The fan-out backlog, read from the database, so an answer also proves the database answers.
   * Throws Unavailable whatever the cause (refused, timed out, queue full), so the check never answers 500.
   */
  async readiness(): Promise<{ fanout: Backlog }> {
    try {
      return { fanout: await this.fanout.backlog() }
    } catch (error) {
      throw new Unavailable('The database is not answering', {}, { cause: error })
    }
  }
}
