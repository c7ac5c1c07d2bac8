// Erasing deleted accounts. DELETE /users/me deactivates an account at once (UserService.deleteAccount);
// its rows go here once its grace period has passed, in bounded batches, each a short transaction, so a
// large account never holds a long one. Undoing what moves other users' counters goes first, through the
// services that keep those counters (follows both ways, then likes, retweets and tweets); then the rows no
// counter depends on, the media (handed to purge), and last the users row, which frees the email. Every
// step is idempotent: an erasure cut short (a crash, a stop) is finished by the next run, on any instance.
import type { Transactor } from '../model/database.ts'
import { ownedRowKinds, type AccountDao } from '../model/account-dao.ts'
import type { PendingObjectDao } from '../model/pending-object-dao.ts'
import type { UserDao } from '../model/user-dao.ts'
import type { WorkerLog } from './fanout-worker.ts'

/** What erasure needs of the services that keep counters: each removes up to `limit` and says how many. */
export interface ErasureSteps {
  severFollows(userId: number, limit: number): Promise<number>
  removeLikesBy(userId: number, limit: number): Promise<number>
  removeRetweetsBy(userId: number, limit: number): Promise<number>
  deleteTweetsBy(userId: number, limit: number): Promise<number>
}

/** Rows removed per transaction for the counted steps; ten times as many for plain deletes. */
export const eraseBatch = 100

/** Accounts looked up per round of eraseDue. */
const dueBatch = 10

export class AccountEraser {
  private running: Promise<void> | undefined
  private again = false
  private stopped = false

  constructor(
    private readonly transactor: Transactor,
    private readonly userDao: UserDao,
    private readonly accountDao: AccountDao,
    private readonly pendingObjectDao: PendingObjectDao,
    private readonly follows: Pick<ErasureSteps, 'severFollows'>,
    private readonly likes: Pick<ErasureSteps, 'removeLikesBy'>,
    private readonly tweets: Pick<ErasureSteps, 'removeRetweetsBy' | 'deleteTweetsBy'>,
    private readonly log: WorkerLog,
    private readonly batch = eraseBatch
  ) {}

  /** Erases the accounts that are due, in the background; a wake during a run makes it look again. */
  wake(): void {
    if (this.stopped) return
    if (this.running) {
      this.again = true
      return
    }
    this.running = (async () => {
      do {
        this.again = false
        try {
          await this.eraseDue()
        } catch (err) {
          // Left for the next wake or purge run (each step is idempotent).
          this.log.error({ err }, 'account erasure failed')
          return
        }
      } while (this.again && !this.stopped)
    })().finally(() => {
      this.running = undefined
    })
  }

  /** Resolves when the background run in hand (if any) has finished. */
  async settled(): Promise<void> {
    await this.running
  }

  /** No new runs; waits for the account in hand. */
  async stop(): Promise<void> {
    this.stopped = true
    await this.running
  }

  /** Erases every account whose grace period has passed; answers how many. */
  async eraseDue(): Promise<number> {
    let erased = 0
    for (;;) {
      const due = await this.userDao.dueForErasure(dueBatch)
      if (due.length === 0 || this.stopped) return erased
      for (const userId of due) {
        if (this.stopped) return erased
        await this.erase(userId)
        erased += 1
      }
    }
  }

  /** Erases one account that is due, step by step (eraseDue found it due: it can no longer be restored). */
  private async erase(userId: number): Promise<void> {
    const removed: Record<string, number> = {}
    const repeat = async (name: string, step: () => Promise<number>): Promise<void> => {
      let total = 0
      for (let count = await step(); count > 0; count = await step()) total += count
      removed[name] = total
    }
    await repeat('follows', () => this.follows.severFollows(userId, this.batch))
    await repeat('likes', () => this.likes.removeLikesBy(userId, this.batch))
    await repeat('retweets', () => this.tweets.removeRetweetsBy(userId, this.batch))
    await repeat('tweets', () => this.tweets.deleteTweetsBy(userId, this.batch))
    for (const kind of ownedRowKinds) {
      await repeat(kind, () => this.accountDao.deleteOwned(kind, userId, this.batch * 10))
    }
    await repeat('media', () =>
      this.transactor.run((connection) => this.accountDao.releaseMedia(connection, userId, this.batch))
    )
    await this.transactor.run(async (connection) => {
      const picture = await this.userDao.replaceProfilePicture(connection, userId, null)
      if (picture?.previous) await this.pendingObjectDao.insert(connection, picture.previous, new Date(0))
    })
    if (await this.userDao.deleteErased(userId)) {
      this.log.info({ user_id: userId, removed }, 'account erased')
    }
  }
}
