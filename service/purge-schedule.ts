// Runs the purge inside a serving process: once when it starts listening, then every intervalMs, never two
// runs at once; stop() waits for the run in hand. `npm run purge` runs it once. A run first erases the
// deleted accounts that are due (their media become objects to purge), then purges media and objects.
import type { WorkerLog } from './fanout-worker.ts'
import type { MediaService, PurgeReport } from './media-service.ts'

/** A run's media purge, and the accounts it erased. */
export interface ScheduledPurgeReport extends PurgeReport {
  accounts: number
}

export class PurgeSchedule {
  private started = false
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined

  /** `intervalMs` 0: purge only at start. */
  constructor(
    private readonly mediaService: MediaService,
    private readonly eraser: { eraseDue(): Promise<number> },
    private readonly intervalMs: number,
    private readonly log: WorkerLog
  ) {}

  start(): void {
    if (this.started) return
    this.started = true
    this.tick()
  }

  async stop(): Promise<void> {
    this.started = false
    clearTimeout(this.timer)
    await this.running
  }

  /** One purge, with each object it could not remove logged (they stay for the next run). */
  async runOnce(): Promise<ScheduledPurgeReport> {
    const accounts = await this.eraser.eraseDue()
    const report = await this.mediaService.purge()
    for (const { id, key, error } of report.failed) {
      this.log.warn({ err: error, media_id: id, storage_key: key }, 'media purge: object not removed')
    }
    const { pending, unattached, expired, objects } = report
    if (pending + unattached + expired + objects + report.failed.length > 0) {
      this.log.info({ pending, unattached, expired, objects, failed: report.failed.length }, 'media purged')
    }
    return { ...report, accounts }
  }

  private tick(): void {
    this.running = this.runOnce()
      .then(
        () => {},
        (err: unknown) => this.log.error({ err }, 'media purge failed')
      )
      .finally(() => {
        this.running = undefined
        // Unref'd: a pending purge never keeps a stopping process alive.
        if (this.started && this.intervalMs > 0) this.timer = setTimeout(() => this.tick(), this.intervalMs).unref()
      })
  }
}
