import t from 'tap'
import { createPool, Transactor } from '../../model/database.ts'
import { freePort } from '../../model/database-server.ts'
import { FanoutDao } from '../../model/fanout-dao.ts'
import { TimelineDao } from '../../model/timeline-dao.ts'
import { Unavailable } from '../../service/errors.ts'
import { FanoutService } from '../../service/fanout-service.ts'
import { HealthService } from '../../service/health-service.ts'
import { testPool } from '../helper.ts'

const fanoutSettings = { chunkSize: 10, leaseMs: 60_000, claimBatch: 10 }

function fanoutOn(pool: ReturnType<typeof createPool>): FanoutService {
  return new FanoutService(new Transactor(pool), new FanoutDao(pool), new TimelineDao(pool), fanoutSettings)
}

/** A HealthService on a clock the test moves by hand. */
function healthOn(fanout: FanoutService) {
  const clock = { ms: 0 }
  return { clock, health: new HealthService(fanout, 1000, () => clock.ms) }
}

t.test('readiness is checked at most once per second, however many callers', async (t) => {
  const { clock, health } = healthOn(fanoutOn(await testPool(t)))

  const answers = await Promise.all(Array.from({ length: 50 }, () => health.readiness()))
  t.equal(health.checks, 1, '50 concurrent callers share one database check')
  t.same(answers[0], { fanout: { pending: 0, oldest_pending_seconds: 0 } })
  t.ok(
    answers.every((answer) => answer === answers[0]),
    'and all get its answer'
  )

  clock.ms = 999
  for (let i = 0; i < 20; i++) await health.readiness()
  t.equal(health.checks, 1, 'later callers within the second get the same answer')

  clock.ms = 1000
  t.same(await health.readiness(), { fanout: { pending: 0, oldest_pending_seconds: 0 } })
  t.equal(health.checks, 2, 'after a second the database is asked again')
})

t.test('a failed check is shared by its concurrent callers, then forgotten', async (t) => {
  const pool = createPool(`mysql://root@127.0.0.1:${await freePort()}/nothing`, { connectTimeoutMs: 2000 })
  t.teardown(() => pool.end())
  const { health } = healthOn(fanoutOn(pool))

  const failures = await Promise.allSettled(Array.from({ length: 10 }, () => health.readiness()))
  t.ok(
    failures.every((f) => f.status === 'rejected' && f.reason instanceof Unavailable),
    'every caller gets Unavailable'
  )
  const [first] = failures
  t.match(
    first.status === 'rejected' ? first.reason : undefined,
    { message: 'The database is not answering', cause: Error },
    'naming the database, with the driver’s error as its cause'
  )
  t.equal(health.checks, 1, 'from one database check')

  await t.rejects(health.readiness(), Unavailable)
  t.equal(health.checks, 2, 'the next caller, at the same moment, checks again: a failure is never cached')
})

t.test('the cache period counts from when the check started, on any clock reading', async (t) => {
  const { clock, health } = healthOn(fanoutOn(await testPool(t)))
  clock.ms = 50_000
  await health.readiness()
  clock.ms = 50_999
  await health.readiness()
  t.equal(health.checks, 1, 'within the second')
  clock.ms = 51_000
  await health.readiness()
  t.equal(health.checks, 2, 'after it')
})

t.test('a failed check forgets only itself: a newer answer stays cached', async (t) => {
  const pool = await testPool(t)
  // The first backlog read waits for the test to fail it; later reads go to the database.
  let failFirst: (error: Error) => void = () => undefined
  const firstRead = new Promise<void>((_resolve, reject) => (failFirst = reject))
  let reads = 0
  const fanout = new (class extends FanoutService {
    override async backlog() {
      reads += 1
      if (reads === 1) await firstRead
      return super.backlog()
    }
  })(new Transactor(pool), new FanoutDao(pool), new TimelineDao(pool), fanoutSettings)
  const { clock, health } = healthOn(fanout)
  const failing = health.readiness()
  clock.ms = 1000
  const newer = await health.readiness()
  t.equal(health.checks, 2)
  failFirst(new Error('connection lost'))
  await t.rejects(failing, Unavailable)
  clock.ms = 1500
  t.equal(await health.readiness(), newer, 'the newer answer, from the cache')
  t.equal(health.checks, 2)
})
