// Readiness: whether this instance can serve data routes right now, and how far fan-out lags behind.
import type { PoolUsage } from '../model/database.ts'
import type { Backlog, FanoutService } from './fanout-service.ts'
import { Unavailable } from './errors.ts'

export interface Readiness {
  fanout: Backlog
}

export class HealthService {
  /** Database checks run so far: callers within one cache period, or during one check, share a single one. */
  checks = 0
  private last?: { startedAt: number; result: Promise<Readiness> }

  /**
   * cacheMs: how long a successful check answers every caller (a failed one answers only the callers
   * waiting for it); 0 checks on every call. now: milliseconds on a clock that never goes back.
   */
  constructor(
    private readonly fanout: FanoutService,
    private readonly cacheMs: number,
    private readonly now: () => number = () => performance.now(),
    private readonly pools: () => Record<string, PoolUsage> = () => ({})
  ) {}

  /** Each database pool's connections (primary, and replica when there is one), for metrics. */
  poolUsage(): Record<string, PoolUsage> {
    return this.pools()
  }

  /**
   * The fan-out backlog, read from the database, so an answer also proves the database answers.
   * Load balancers poll this on every instance: at most one query per cacheMs, however many polls.
   * Throws Unavailable whatever the cause (refused, timed out, queue full), so the check never answers 500.
   */
  readiness(): Promise<Readiness> {
    const now = this.now()
    if (this.last && now - this.last.startedAt < this.cacheMs) return this.last.result
    const result = this.check()
    const last = { startedAt: now, result }
    this.last = last
    // A failure is shared by the callers already waiting for it, then forgotten: the next call checks again.
    result.catch(() => {
      if (this.last === last) this.last = undefined
    })
    return result
  }

  private async check(): Promise<Readiness> {
    this.checks += 1
    try {
      return { fanout: await this.fanout.backlog() }
    } catch (error) {
      throw new Unavailable('The database is not answering', {}, { cause: error })
    }
  }
}
