import { existsSync } from 'node:fs'
import { mkdir, rmdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { pino } from 'pino'
import { buildServices } from '../../app.ts'
import { createPool, Transactor } from '../../model/database.ts'
import { MediaDao } from '../../model/media-dao.ts'
import { PendingObjectDao } from '../../model/pending-object-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import { LocalStorage } from '../../service/storage/local.ts'
import { MediaService } from '../../service/media-service.ts'
import { PurgeSchedule } from '../../service/purge-schedule.ts'
import { DatabaseProxy } from '../database-proxy.ts'
import { testConfig, testDatabaseUrl, testPublicUrl, testUploadDir } from '../helper.ts'
import { pngBytes } from '../../scripts/support/uploads.ts'

/** A log that keeps what it is told. */
function recordingLog() {
  const lines: { level: string; details: Record<string, unknown>; message: string }[] = []
  const at = (level: string) => (details: object, message: string) =>
    void lines.push({ level, details: details as Record<string, unknown>, message })
  return { lines, info: at('info'), warn: at('warn'), error: at('error') }
}

async function setUp(t: { teardown(fn: () => unknown): void }, proxy?: DatabaseProxy) {
  const url = await testDatabaseUrl(t)
  const pool = createPool(proxy ? proxy.route(url) : url, { connectTimeoutMs: 1000 })
  t.teardown(() => pool.end())
  const dir = await testUploadDir(t)
  const storage = new LocalStorage(dir, testPublicUrl)
  const objects = new PendingObjectDao(pool)
  const media = new MediaService(new Transactor(pool), new MediaDao(pool), objects, storage, {
    maxMediaBytes: 1024,
    graceDays: 0,
    maxImagePixels: 1_000_000
  })
  /** A file no row references, due for purge now: what a replaced profile picture leaves. */
  const stray = async (name: string) => {
    await storage.put(`profile/${name}.png`, Readable.from([pngBytes]), 'image/png')
    await objects.insert(pool, `profile/${name}.png`, new Date(0))
    return join(dir, 'profile', `${name}.png`)
  }
  const gone = async (path: string) => {
    for (let i = 0; i < 400 && existsSync(path); i++) await sleep(25)
    return !existsSync(path)
  }
  return { pool, media, objects, storage, dir, stray, gone }
}

// These tests are about the schedule and the media purge; erasing accounts in a run has its own tests
// (test/service/account-eraser.test.ts).
const noAccountsDue = { eraseDue: async () => 0 }

t.test('PurgeSchedule purges at start and then every interval until stopped', async (t) => {
  const s = await setUp(t)
  const log = recordingLog()
  const schedule = new PurgeSchedule(s.media, noAccountsDue, 30, log)
  t.teardown(() => schedule.stop())
  const first = await s.stray('first')
  schedule.start()
  schedule.start()
  t.ok(await s.gone(first), 'purged at start')
  const second = await s.stray('second')
  t.ok(await s.gone(second), 'purged again by the schedule')
  // The file goes before the purge's rows and its log line: on a busy machine the line comes a little later.
  const purged = () => log.lines.filter((line) => line.message === 'media purged')
  for (let i = 0; i < 400 && purged().length < 2; i++) await sleep(25)
  t.match(purged(), [{ details: { objects: 1 } }, { details: { objects: 1 } }])

  await schedule.stop()
  const after = await s.stray('after-stop')
  await sleep(300)
  t.ok(existsSync(after), 'nothing runs after stop')
})

t.test('PurgeSchedule with interval 0 purges once, at start', async (t) => {
  const s = await setUp(t)
  const schedule = new PurgeSchedule(s.media, noAccountsDue, 0, recordingLog())
  t.teardown(() => schedule.stop())
  const first = await s.stray('first')
  schedule.start()
  t.ok(await s.gone(first))
  const second = await s.stray('second')
  await sleep(300)
  t.ok(existsSync(second), 'no second run')
  t.match(await schedule.runOnce(), { objects: 1, failed: [] }, 'runOnce is what `npm run purge` does')
  t.notOk(existsSync(second))
})

t.test('PurgeSchedule logs a run that fails and keeps going', async (t) => {
  const proxy = await DatabaseProxy.start(t)
  const s = await setUp(t, proxy)
  const log = recordingLog()
  const schedule = new PurgeSchedule(s.media, noAccountsDue, 30, log)
  t.teardown(() => schedule.stop())
  await proxy.cut()
  schedule.start()
  for (let i = 0; i < 400 && !log.lines.some((line) => line.level === 'error'); i++) await sleep(25)
  t.match(
    log.lines.find((line) => line.level === 'error'),
    { message: 'media purge failed', details: { err: Error } }
  )
  await proxy.restore()
  const stray = await s.stray('later')
  t.ok(await s.gone(stray), 'a later run works')
})

t.test('PurgeSchedule logs each object it could not remove, which stays for the next run', async (t) => {
  const s = await setUp(t)
  const log = recordingLog()
  const schedule = new PurgeSchedule(s.media, noAccountsDue, 0, log)
  // A directory where the file should be: removing it fails for real, the way a broken store would.
  await mkdir(join(s.dir, 'profile', 'stuck.png'), { recursive: true })
  await s.objects.insert(s.pool, 'profile/stuck.png', new Date(0))
  t.match(await schedule.runOnce(), { objects: 0, failed: [{ key: 'profile/stuck.png' }] })
  t.match(log.lines, [
    {
      level: 'warn',
      message: 'media purge: object not removed',
      details: { storage_key: 'profile/stuck.png', err: Error }
    },
    { level: 'info', message: 'media purged', details: { objects: 0, failed: 1 } }
  ])
  await rmdir(join(s.dir, 'profile', 'stuck.png'))
  t.match(await schedule.runOnce(), { objects: 1, failed: [] })
})

t.test('PurgeSchedule logs a run by what it removed, and a run that removed nothing not at all', async (t) => {
  const s = await setUp(t)
  const clock = { now: new Date() }
  const media = new MediaService(new Transactor(s.pool), new MediaDao(s.pool), s.objects, s.storage, {
    maxMediaBytes: 1024,
    graceDays: 0,
    maxImagePixels: 1_000_000,
    unattachedTtlMs: 60_000,
    clock: () => clock.now
  })
  const log = recordingLog()
  const schedule = new PurgeSchedule(media, noAccountsDue, 0, log)
  t.match(await schedule.runOnce(), { pending: 0, unattached: 0, expired: 0, objects: 0, failed: [] })
  t.same(log.lines, [], 'nothing removed: nothing logged')
  const user = await new UserDao(s.pool).insertUser({
    name: 'owner',
    username: 'owner',
    email: 'owner@example.com',
    profile: '',
    hashedPassword: 'x'
  })
  await media.upload(user, Readable.from([pngBytes]), 'left.png')
  clock.now = new Date(clock.now.getTime() + 120_000)
  // An upload left on no tweet is marked deleted and, without a grace period, removed in the same run.
  t.match(await schedule.runOnce(), { pending: 0, unattached: 1, expired: 1, objects: 0, failed: [] })
  t.match(log.lines, [
    {
      level: 'info',
      message: 'media purged',
      details: { pending: 0, unattached: 1, expired: 1, objects: 0, failed: 0 }
    }
  ])
  t.equal(log.lines.length, 1)
})

t.test('PurgeSchedule started twice runs once', async (t) => {
  const s = await setUp(t)
  let runs = 0
  const countingEraser = {
    eraseDue: async () => {
      runs += 1
      return 0
    }
  }
  const schedule = new PurgeSchedule(s.media, countingEraser, 0, recordingLog())
  schedule.start()
  schedule.start()
  await schedule.stop()
  t.equal(runs, 1)
})

t.test("buildServices' close() stops the schedule and waits for its run", async (t) => {
  const config = await testConfig(t, { PURGE_INTERVAL: '1s' })
  const levels: number[] = []
  const log = pino(
    { level: 'info' },
    { write: (line: string) => void levels.push((JSON.parse(line) as { level: number }).level) }
  )
  const services = await buildServices(config, log)
  services.purgeSchedule.start()
  await services.close()
  await sleep(1500)
  t.same(
    levels.filter((level) => level > pino.levels.values.info),
    [],
    'no run after close (it would fail on the closed pool)'
  )
})
