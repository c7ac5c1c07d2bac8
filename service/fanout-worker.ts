// Runs FanoutService in the background: `workers` loops per process, each claiming and working through
// batches, sleeping `pollMs` when the outbox is empty unless a post in this process wakes it first.
import type { FanoutService } from './fanout-service.ts'

export interface WorkerLog {
  info(details: object, message: string): void
  warn(details: object, message: string): void
  error(details: object, message: string): void
}

export interface FanoutWorkerSettings {
  /** Concurrent loops in this process; 0: this process does no fan-out. */
  workers: number
  /** How long an idle loop sleeps before looking at the outbox again. */
  pollMs: number
  /** The backlog is logged as a warning while its oldest row is older than this. */
  lagWarnMs: number
}

/** How often the backlog is looked at for the lag warning. */
const monitorMs = 5_000

export class FanoutWorker {
  private running = false
  private loops: Promise<void>[] = []
  private readonly sleepers = new Set<() => void>()
  private monitor: NodeJS.Timeout | undefined
  private lagging = false

  constructor(
    private readonly fanout: FanoutService,
    private readonly settings: FanoutWorkerSettings,
    private readonly log: WorkerLog
  ) {}

  start(): void {
    if (this.running || this.settings.workers === 0) return
    this.running = true
    this.loops = Array.from({ length: this.settings.workers }, () => this.loop())
    this.monitor = setInterval(() => void this.watch(), monitorMs).unref()
  }

  /** A post was recorded: idle loops look at the outbox now rather than at their next poll. */
  wake(): void {
    for (const wake of this.sleepers) wake()
  }

  /** Lets each loop finish the row in hand, then hands back the leases of rows claimed but not begun. */
  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    clearInterval(this.monitor)
    this.wake()
    await Promise.all(this.loops)
    await this.fanout
      .releaseClaims()
      .catch((err: unknown) => this.log.warn({ err }, 'fan-out: claims not released, they expire'))
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        if ((await this.fanout.runOnce(() => this.running)) > 0) continue
        await this.sleep(this.settings.pollMs)
      } catch (err) {
        if (!this.running) return
        // The database is away or refusing: the rows stay in the outbox, so try again a little later.
        this.log.error({ err }, 'fan-out: batch failed, retrying')
        await this.sleep(Math.max(1_000, this.settings.pollMs * 10))
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.sleepers.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.sleepers.add(done)
    })
  }

  private async watch(): Promise<void> {
    try {
      const backlog = await this.fanout.backlog()
      if (backlog.oldest_pending_seconds * 1000 > this.settings.lagWarnMs) {
        this.lagging = true
        this.log.warn(
          { fanout: backlog },
          `fan-out backlog: ${backlog.pending} tweets pending, oldest ${backlog.oldest_pending_seconds} s`
        )
      } else if (this.lagging) {
        this.lagging = false
        this.log.info({ fanout: backlog }, 'fan-out backlog caught up')
      }
    } catch {
      // The loops log database trouble already.
    }
  }
}
