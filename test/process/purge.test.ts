// `npm run purge` (setup.ts purge) as a process of its own: one media purge, its report, its exit code.
import { existsSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { RowDataPacket } from 'mysql2/promise'
import t from 'tap'
import { createPool } from '../../model/database.ts'
import { UserDao } from '../../model/user-dao.ts'
import { testDatabaseUrl, testUploadDir } from '../helper.ts'
import { runSetup, serverSecret } from '../../scripts/support/processes.ts'

const hour = 60 * 60 * 1000
const day = 24 * hour

t.test('purge removes what is due, reports it and exits 0; 1 when an object could not be removed', async (t) => {
  const databaseUrl = await testDatabaseUrl(t)
  const uploadDir = await testUploadDir(t)
  const pool = createPool(databaseUrl)
  t.teardown(() => pool.end())
  const alice = await new UserDao(pool).insertUser({
    name: 'alice',
    username: 'alice',
    email: 'alice@example.com',
    profile: '',
    hashedPassword: 'x'
  })
  const now = Date.now()
  const stored = async (key: string) => {
    await mkdir(dirname(join(uploadDir, key)), { recursive: true })
    await writeFile(join(uploadDir, key), 'bytes')
  }
  const media = async (
    key: string,
    fields: { status?: string; created?: number; deleted?: number; expires?: number }
  ) => {
    await stored(key)
    await pool.query(
      `INSERT INTO media (user_id, storage_key, content_type, status, created_at, deleted_at, expires_at)
       VALUES (?, ?, 'image/png', ?, ?, ?, ?)`,
      [
        alice,
        key,
        fields.status ?? 'ready',
        new Date(fields.created ?? now),
        fields.deleted === undefined ? null : new Date(fields.deleted),
        fields.expires === undefined ? null : new Date(fields.expires)
      ]
    )
  }
  await media('media/live.png', {})
  await media('media/deleted-within-grace.png', { deleted: now - hour })
  await media('media/deleted-long-ago.png', { deleted: now - 10 * day })
  await media('media/abandoned.png', { status: 'pending', created: now - 10 * day })
  await media('media/never-attached.png', { expires: now - hour })
  for (const [key, purgeAfter] of [
    ['profile/replaced.png', now - hour],
    ['profile/uploading.png', now + hour]
  ] as const) {
    await stored(key)
    await pool.query('INSERT INTO pending_objects (storage_key, purge_after) VALUES (?, ?)', [
      key,
      new Date(purgeAfter)
    ])
  }
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    JWT_SECRET: serverSecret,
    PUBLIC_URL: 'http://127.0.0.1',
    DATABASE_URL: databaseUrl,
    UPLOAD_DIR: uploadDir,
    MEDIA_GRACE_DAYS: '1'
  }
  const reportLine = (stdout: string) => stdout.split('\n').find((line) => line.startsWith('erased'))
  const rows = async () => {
    const [media] = await pool.query<RowDataPacket[]>('SELECT storage_key FROM media ORDER BY storage_key')
    const [objects] = await pool.query<RowDataPacket[]>('SELECT storage_key FROM pending_objects ORDER BY storage_key')
    return [...media, ...objects].map((row) => row.storage_key as string)
  }
  const files = (keys: string[]) => keys.filter((key) => existsSync(join(uploadDir, key)))
  const allKeys = [
    'media/abandoned.png',
    'media/deleted-long-ago.png',
    'media/deleted-within-grace.png',
    'media/live.png',
    'media/never-attached.png',
    'profile/replaced.png',
    'profile/uploading.png'
  ]
  const kept = ['media/deleted-within-grace.png', 'media/live.png', 'profile/uploading.png']

  t.test('a purge with nothing failing exits 0, removing exactly the rows and files that are due', async (t) => {
    const run = await runSetup(['purge'], env)
    t.equal(run.code, 0, run.output)
    t.equal(
      reportLine(run.stdout),
      'erased 0 deleted accounts; purged 1 abandoned uploads, 2 expired media (1 never attached) and 1 unreferenced objects; 0 failed'
    )
    t.same(await rows(), kept)
    t.same(files(allKeys), kept)
  })

  t.test('an object that cannot be removed is reported, keeps its row, and the exit code is 1', async (t) => {
    // A directory where the file should be: removing it fails the way an unwritable store would.
    await mkdir(join(uploadDir, 'media/stuck.png'), { recursive: true })
    await pool.query(
      "INSERT INTO media (user_id, storage_key, content_type, status, deleted_at) VALUES (?, 'media/stuck.png', 'image/png', 'ready', ?)",
      [alice, new Date(now - 10 * day)]
    )
    const failed = await runSetup(['purge'], env)
    t.equal(failed.code, 1, failed.output)
    t.equal(
      reportLine(failed.stdout),
      'erased 0 deleted accounts; purged 0 abandoned uploads, 0 expired media (0 never attached) and 0 unreferenced objects; 1 failed'
    )
    t.match(failed.output, 'media purge: object not removed')
    t.same(await rows(), [...kept.slice(0, 2), 'media/stuck.png', kept[2]])

    await rm(join(uploadDir, 'media/stuck.png'), { recursive: true })
    const retried = await runSetup(['purge'], env)
    t.equal(retried.code, 0, retried.output)
    t.match(
      reportLine(retried.stdout),
      /^erased 0 deleted accounts; purged 0 abandoned uploads, 1 expired media .*; 0 failed$/
    )
    t.same(await rows(), kept)
  })
})
