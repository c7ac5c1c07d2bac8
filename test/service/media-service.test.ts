import { existsSync } from 'node:fs'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import type { RowDataPacket } from 'mysql2/promise'
import sharp from 'sharp'
import { Transactor, type Pool } from '../../model/database.ts'
import { MediaDao } from '../../model/media-dao.ts'
import { PendingObjectDao } from '../../model/pending-object-dao.ts'
import { TweetDao } from '../../model/tweet-dao.ts'
import { UserDao } from '../../model/user-dao.ts'
import {
  Conflict,
  Invalid,
  NotFound,
  PayloadTooLarge,
  Unavailable,
  UnsupportedMediaType
} from '../../service/errors.ts'
import { maxTweetMedia } from '../../service/limits.ts'
import { LocalStorage } from '../../service/storage/local.ts'
import {
  cleanOriginalName,
  MediaService,
  type MediaSettings,
  type PoolConnection
} from '../../service/media-service.ts'
import type { StoredObject } from '../../service/storage/storage.ts'
import { localKeyOf, rejection, testPool, testPublicUrl, testUploadDir } from '../helper.ts'
import { pngBytes } from '../../scripts/support/uploads.ts'
import { animatedGif, gpsDatum, largeImage, photoWithGps, refused, samples } from '../media-fixtures.ts'

const day = 24 * 60 * 60 * 1000

/** Local storage that really fails on demand, the way an unreachable object store would. */
class FlakyStorage extends LocalStorage {
  failPuts = false
  failDeletes = false
  override async put(key: string, body: Readable, contentType: string): Promise<StoredObject> {
    if (this.failPuts) {
      body.resume()
      throw new Error('object store unreachable')
    }
    return super.put(key, body, contentType)
  }
  override async delete(key: string): Promise<void> {
    if (this.failDeletes) throw new Error('object store unreachable')
    return super.delete(key)
  }
}

interface Setup {
  pool: Pool
  dir: string
  dao: MediaDao
  objects: PendingObjectDao
  storage: FlakyStorage
  service: MediaService
  users: UserDao
  user(name: string): Promise<number>
  files(): Promise<string[]>
  clock: { now: Date }
  /** Pending rows of any age: what a crash or a failed upload would leave behind. */
  pendingRows(): Promise<number[]>
}

async function setUp(t: { teardown(fn: () => unknown): void }, settings: Partial<MediaSettings> = {}): Promise<Setup> {
  const pool = await testPool(t)
  const dir = await testUploadDir(t)
  const dao = new MediaDao(pool)
  const objects = new PendingObjectDao(pool)
  const storage = new FlakyStorage(dir, testPublicUrl)
  const clock = { now: new Date() }
  const service = new MediaService(new Transactor(pool), dao, objects, storage, {
    maxMediaBytes: 1024,
    graceDays: 0,
    maxImagePixels: 1_000_000,
    clock: () => clock.now,
    ...settings
  })
  const users = new UserDao(pool)
  let count = 0
  return {
    pool,
    dir,
    dao,
    objects,
    storage,
    service,
    users,
    clock,
    user: (name) => {
      count += 1
      return users.insertUser({
        name,
        username: `${name}${count}`,
        email: `${name}${count}@example.com`,
        profile: '',
        hashedPassword: 'x'
      })
    },
    files: async () => (existsSync(join(dir, 'media')) ? (await readdir(join(dir, 'media'))).sort() : []),
    pendingRows: async () => (await dao.stalePending(new Date(Date.now() + day), 0, 1000)).map((row) => row.id)
  }
}

const bytes = (buffer: Buffer) => Readable.from([buffer])

t.test('cleanOriginalName keeps a readable name and nothing else', async (t) => {
  t.equal(cleanOriginalName('../../etc/passwd'), 'passwd')
  t.equal(cleanOriginalName('C:\\Users\\me\\녹음 1.m4a'), '녹음 1.m4a')
  t.equal(cleanOriginalName('evil\u202egnp.exe'), 'evilgnp.exe', 'bidi overrides are removed')
  t.equal(cleanOriginalName('a\u0000b\nc\t.png'), 'abc.png', 'control characters are removed')
  t.equal(cleanOriginalName('  spaced.png  '), 'spaced.png')
  t.equal(cleanOriginalName('e\u0301.png'), '\u00e9.png', 'normalised to NFC')
  t.equal([...cleanOriginalName('😀'.repeat(300))!].length, 255, 'at most 255 characters, emoji counted once')
  t.equal(cleanOriginalName(''), null)
  t.equal(cleanOriginalName(undefined), null)
  t.equal(cleanOriginalName('dir/'), null)
})

t.test('MediaService uploads', async (t) => {
  const s = await setUp(t)
  const alice = await s.user('alice')

  t.test('an image is stored under a generated key and described', async (t) => {
    const item = await s.service.upload(alice, bytes(pngBytes), '../me.png')
    t.match(localKeyOf(item.url), /^media\/[0-9a-f-]{36}\.png$/, 'an absolute URL under the storage base')
    t.match(item, {
      content_type: 'image/png',
      size: pngBytes.length,
      original_name: 'me.png'
    })
    t.ok(item.created_at instanceof Date)
    const stored = join(s.dir, localKeyOf(item.url))
    t.same(await readFile(stored), pngBytes)
    t.match(await s.dao.mediaOf(alice, item.id), { status: 'ready', size: pngBytes.length })
  })

  for (const [name, sample] of Object.entries(samples)) {
    t.test(`${name} is accepted as ${sample.contentType}`, async (t) => {
      const item = await s.service.upload(alice, bytes(sample.bytes), `file.${name}`)
      t.equal(item.content_type, sample.contentType)
      const stored = await readFile(join(s.dir, localKeyOf(item.url)))
      t.equal(item.size, stored.length, 'the size is what is stored')
      if (!sample.contentType.startsWith('image/')) t.same(stored, sample.bytes, 'audio is stored as it came')
      t.match(item.url, new RegExp(`\\.${sample.ext}$`))
    })
  }

  t.test('other types are refused by their bytes, leaving nothing', async (t) => {
    const before = await s.files()
    for (const [name, body] of Object.entries(refused)) {
      await t.rejects(s.service.upload(alice, bytes(body), `x.${name}`), UnsupportedMediaType, name)
    }
    await t.rejects(
      s.service.upload(alice, bytes(Buffer.from('plain text, named like a song')), 'song.mp3'),
      UnsupportedMediaType
    )
    await t.rejects(s.service.upload(alice, bytes(Buffer.alloc(0)), 'empty.png'), UnsupportedMediaType)
    t.same(await s.files(), before)
    t.same(await s.pendingRows(), [])
  })

  t.test('a file over the cap is refused and leaves neither object nor row', async (t) => {
    const before = await s.files()
    await t.rejects(
      s.service.upload(alice, bytes(Buffer.concat([pngBytes, Buffer.alloc(2048)])), 'big.png'),
      PayloadTooLarge
    )
    const exact = Buffer.concat([samples.mp3.bytes, Buffer.alloc(1024 - samples.mp3.bytes.length)])
    t.equal((await s.service.upload(alice, bytes(exact), 'exact.mp3')).size, 1024, 'exactly the cap is fine')
    t.equal((await s.files()).length, before.length + 1)
    t.same(await s.pendingRows(), [])
  })

  t.test('a store that fails while writing leaves no row', async (t) => {
    const before = await s.files()
    s.storage.failPuts = true
    t.teardown(() => (s.storage.failPuts = false))
    await t.rejects(s.service.upload(alice, bytes(pngBytes), 'a.png'), { message: 'object store unreachable' })
    t.same(await s.pendingRows(), [])
    t.same(await s.files(), before)
  })

  t.test('when the clean-up fails too, the pending row stays for purge', async (t) => {
    s.storage.failPuts = true
    s.storage.failDeletes = true
    await t.rejects(s.service.upload(alice, bytes(pngBytes), 'a.png'), { message: 'object store unreachable' })
    s.storage.failPuts = false
    s.storage.failDeletes = false
    const left = await s.pendingRows()
    t.equal(left.length, 1)
    s.clock.now = new Date(Date.now() + 2 * day)
    t.teardown(() => (s.clock.now = new Date()))
    t.match(await s.service.purge(), { pending: 1, expired: 0, failed: [] })
    t.same(await s.pendingRows(), [])
  })

  t.test('an unknown user is NotFound and leaves nothing', async (t) => {
    const before = await s.files()
    await t.rejects(s.service.upload(999999, bytes(pngBytes), 'a.png'), NotFound)
    t.same(await s.files(), before)
  })
})

t.test('MediaService listing', async (t) => {
  const s = await setUp(t)
  const [alice, bob] = [await s.user('alice'), await s.user('bob')]
  const upload = async (userId: number) => (await s.service.upload(userId, bytes(pngBytes), 'p.png')).id

  t.test('pages never repeat or skip while new uploads arrive', async (t) => {
    const original: number[] = []
    for (let i = 0; i < 7; i++) original.push(await upload(alice))
    await upload(bob)
    const seen: number[] = []
    let page = await s.service.mediaOf(alice, { limit: 3 })
    seen.push(...page.items.map((item) => item.id))
    await upload(alice)
    await upload(alice)
    page = await s.service.mediaOf(alice, { limit: 3, before: page.next_cursor! })
    seen.push(...page.items.map((item) => item.id))
    await upload(alice)
    page = await s.service.mediaOf(alice, { limit: 3, before: page.next_cursor! })
    seen.push(...page.items.map((item) => item.id))
    t.equal(page.next_cursor, null, 'the last page says so')
    t.same(seen, [...original].reverse())
  })

  t.test('a page exactly filled still has no next page', async (t) => {
    const carol = await s.user('carol')
    const ids = [await upload(carol), await upload(carol)]
    const page = await s.service.mediaOf(carol, { limit: 2 })
    t.same(
      page.items.map((item) => item.id),
      [ids[1], ids[0]]
    )
    t.equal(page.next_cursor, null)
    t.same(await s.service.mediaOf(await s.user('dave'), { limit: 20 }), {
      items: [],
      next_cursor: null,
      prev_cursor: null
    })
  })
})

t.test('MediaService delete without a grace period', async (t) => {
  const s = await setUp(t)
  const [alice, bob] = [await s.user('alice'), await s.user('bob')]

  t.test('only the owner can delete; others and unknown ids are NotFound', async (t) => {
    const item = await s.service.upload(alice, bytes(pngBytes), 'p.png')
    await t.rejects(s.service.delete(bob, item.id), NotFound)
    await t.rejects(s.service.delete(alice, 999999), NotFound)
    t.equal((await s.service.mediaOf(alice, { limit: 20 })).items.length, 1)
    t.equal((await s.files()).length, 1)
  })

  t.test('delete removes the row and the object at once, for good', async (t) => {
    const [item] = (await s.service.mediaOf(alice, { limit: 20 })).items
    await s.service.delete(alice, item.id)
    t.same(await s.files(), [])
    t.equal(await s.dao.mediaOf(alice, item.id), undefined)
    await t.rejects(s.service.delete(alice, item.id), NotFound)
    await t.rejects(s.service.restore(alice, item.id), NotFound)
  })

  t.test('when the store fails, the item stays and the delete can be retried', async (t) => {
    const item = await s.service.upload(alice, bytes(pngBytes), 'p.png')
    s.storage.failDeletes = true
    await t.rejects(s.service.delete(alice, item.id), Unavailable)
    t.same(
      (await s.service.mediaOf(alice, { limit: 20 })).items.map((m) => m.id),
      [item.id],
      'still listed'
    )
    t.equal((await s.files()).length, 1, 'the object is still there')
    s.storage.failDeletes = false
    await s.service.delete(alice, item.id)
    t.same(await s.files(), [])
    t.same((await s.service.mediaOf(alice, { limit: 20 })).items, [])
  })

  t.test('restoring an item that is not deleted is a Conflict; a pending one is NotFound', async (t) => {
    const item = await s.service.upload(alice, bytes(pngBytes), 'p.png')
    await t.rejects(s.service.restore(alice, item.id), Conflict)
    await t.rejects(s.service.restore(bob, item.id), NotFound)
    const pending = await s.dao.insertPending(s.pool, {
      userId: alice,
      storageKey: 'media/pending.png',
      contentType: 'image/png',
      originalName: null,
      reservedBytes: 0,
      expiresAt: null
    })
    await t.rejects(s.service.restore(alice, pending), NotFound)
    await t.rejects(s.service.delete(alice, pending), NotFound)
  })
})

t.test('MediaService grace period and purge', async (t) => {
  const s = await setUp(t, { graceDays: 2 })
  const [alice, bob] = [await s.user('alice'), await s.user('bob')]
  const start = new Date()

  t.test('a deleted item vanishes from the list but can be restored within the period', async (t) => {
    s.clock.now = start
    const item = await s.service.upload(alice, bytes(pngBytes), 'keep.png')
    await s.service.delete(alice, item.id)
    t.same((await s.service.mediaOf(alice, { limit: 20 })).items, [])
    t.equal((await s.files()).length, 1, 'the object waits for the period to end')
    await t.rejects(s.service.delete(alice, item.id), NotFound, 'deleting twice')
    await t.rejects(s.service.restore(bob, item.id), NotFound, "not someone else's")
    s.clock.now = new Date(start.getTime() + 2 * day - 1000)
    t.match(await s.service.restore(alice, item.id), { id: item.id, url: item.url, original_name: 'keep.png' })
    t.same(
      (await s.service.mediaOf(alice, { limit: 20 })).items.map((m) => m.id),
      [item.id]
    )
    await t.rejects(s.service.restore(alice, item.id), Conflict, 'restoring twice')
    t.match(await s.service.purge(), { pending: 0, expired: 0 })
    await s.service.delete(alice, item.id)
  })

  t.test('after the period restore is NotFound and purge removes row and object', async (t) => {
    const [deleted] = (await s.dao.expiredDeleted(new Date(s.clock.now.getTime() + 1), 0, 10)).map((row) => row.id)
    const fresh = await s.service.upload(alice, bytes(pngBytes), 'fresh.png')
    s.clock.now = new Date(s.clock.now.getTime() + 2 * day)
    await t.rejects(s.service.restore(alice, deleted), NotFound)
    t.match(await s.service.purge(), { pending: 0, expired: 1, failed: [] })
    t.equal(await s.dao.mediaOf(alice, deleted), undefined)
    t.same(await s.files(), [fresh.url.split('/').at(-1)], 'only the live object is left')
  })

  t.test('a purge that cannot reach the store keeps the rows for the next one', async (t) => {
    const item = await s.service.upload(alice, bytes(pngBytes), 'x.png')
    await s.service.delete(alice, item.id)
    s.clock.now = new Date(s.clock.now.getTime() + 3 * day)
    s.storage.failDeletes = true
    const report = await s.service.purge()
    s.storage.failDeletes = false
    t.equal(report.expired, 0)
    t.same(
      report.failed.map((failure) => failure.id),
      [item.id]
    )
    t.match(report.failed[0].error, { message: 'object store unreachable' })
    t.match(await s.service.purge(), { expired: 1, failed: [] })
    t.equal(await s.dao.mediaOf(alice, item.id), undefined)
  })

  t.test('purge removes uploads a crash left pending, with what they wrote', async (t) => {
    s.clock.now = new Date()
    const complete = await s.dao.insertPending(s.pool, {
      userId: bob,
      storageKey: 'media/crash-after-write.png',
      contentType: 'image/png',
      originalName: null,
      reservedBytes: 0,
      expiresAt: null
    })
    await s.storage.put('media/crash-after-write.png', bytes(pngBytes), 'image/png')
    const partial = await s.dao.insertPending(s.pool, {
      userId: bob,
      storageKey: 'media/crash-mid-write.png',
      contentType: 'image/png',
      originalName: null,
      reservedBytes: 0,
      expiresAt: null
    })
    await writeFile(join(s.dir, 'media/crash-mid-write.png.partial'), pngBytes.subarray(0, 10))
    s.clock.now = new Date(Date.now() + day - 60_000)
    t.match(await s.service.purge(), { pending: 0 }, 'uploads younger than the bound (a day) may still be running')
    s.clock.now = new Date(Date.now() + 2 * day)
    t.match(await s.service.purge(), { pending: 2, failed: [] })
    t.equal(await s.dao.mediaOf(bob, complete), undefined)
    t.equal(await s.dao.mediaOf(bob, partial), undefined)
    t.notOk((await s.files()).some((name) => name.startsWith('crash')))
  })
})

t.test('MediaService purge boundaries: kept until the moment a period ends, removed from that moment', async (t) => {
  const ttl = day
  const s = await setUp(t, { graceDays: 2, unattachedTtlMs: ttl })
  const alice = await s.user('alice')
  const grace = 2 * day
  const at = (time: number) => (s.clock.now = new Date(time))
  const row = async (id: number) => (await s.dao.mediaOf(alice, id))?.id
  // Millisecond timestamps, as DATETIME(3) stores them.
  const start = Math.floor(Date.now() / 1000) * 1000 - 30 * day
  const upload = async (time: number) => {
    at(time)
    return (await s.service.upload(alice, bytes(pngBytes), 'p.png')).id
  }
  const uploadAndDelete = async (time: number) => {
    const id = await upload(time)
    await s.service.delete(alice, id)
    return id
  }
  const attach = async (id: number) => {
    const transactor = new Transactor(s.pool)
    const tweets = new TweetDao(s.pool)
    await transactor.run(async (connection) => {
      const tweetId = (await tweets.postTweetIn(connection, alice, 'keeps its media'))!.id
      await s.service.attachToTweet(connection, tweetId, alice, [id])
    })
  }

  t.test('deleted media: restorable and kept just before the grace period ends, purged at its end', async (t) => {
    const first = await uploadAndDelete(start)
    const second = await uploadAndDelete(start + 1)
    at(start + grace - 1)
    t.match(await s.service.purge(), { expired: 0, failed: [] }, '1 ms before the end: nothing purged')
    t.equal(await row(first), first)
    t.equal(await row(second), second)
    at(start + grace)
    t.match(await s.service.purge(), { expired: 1, failed: [] }, 'at the end of the first’s period')
    t.equal(await row(first), undefined, 'the first is gone at the very end of its period')
    t.equal(await row(second), second, 'the second, deleted 1 ms later, is kept 1 ms more')
    at(start + grace + day)
    t.match(await s.service.purge(), { expired: 1, failed: [] })
    t.equal(await row(second), undefined, 'and is gone after its end')
  })

  t.test('restore works until the grace period ends, not at its end', async (t) => {
    const kept = await uploadAndDelete(start + 2 * grace)
    const late = await uploadAndDelete(start + 2 * grace)
    at(start + 3 * grace - 1)
    t.match(await s.service.restore(alice, kept), { id: kept })
    await attach(kept) // a restored upload would expire unattached by now
    at(start + 3 * grace)
    await t.rejects(s.service.restore(alice, late), NotFound)
    t.match(await s.service.purge(), { expired: 1, failed: [] })
    t.equal(await row(late), undefined)
    t.equal(await row(kept), kept)
  })

  t.test('unattached uploads: kept just before MEDIA_UNATTACHED_TTL, removed from the moment it ends', async (t) => {
    const base = start + 10 * grace
    const first = await upload(base)
    const second = await upload(base + 1)
    at(base + ttl - 1)
    t.match(await s.service.purge(), { unattached: 0, expired: 0, failed: [] }, '1 ms before the TTL: nothing')
    t.equal(await row(first), first)
    at(base + ttl)
    t.match(await s.service.purge(), { unattached: 1, expired: 1, failed: [] }, 'at the TTL: the first')
    t.equal(await row(first), undefined)
    t.equal(await row(second), second, 'the second, uploaded 1 ms later, is kept 1 ms more')
    at(base + ttl + day)
    t.match(await s.service.purge(), { unattached: 1, expired: 1, failed: [] })
    t.equal(await row(second), undefined)
  })

  t.test('unreferenced objects: kept just before their purge time, removed from it', async (t) => {
    const base = start + 20 * grace
    await s.objects.insert(s.pool, 'profile/first.png', new Date(base))
    await s.objects.insert(s.pool, 'profile/second.png', new Date(base + 1))
    const due = async () => s.objects.due(new Date(base + 10 * day), '', 10)
    at(base - 1)
    t.match(await s.service.purge(), { objects: 0, failed: [] })
    t.same(await due(), ['profile/first.png', 'profile/second.png'])
    at(base)
    t.match(await s.service.purge(), { objects: 1, failed: [] })
    t.same(await due(), ['profile/second.png'])
    at(base + day)
    t.match(await s.service.purge(), { objects: 1, failed: [] })
    t.same(await due(), [])
  })

  t.test('pending uploads: still running at exactly a day old, abandoned 1 ms later', async (t) => {
    const base = start + 30 * grace
    const pending = await s.dao.insertPending(s.pool, {
      userId: alice,
      storageKey: 'media/abandoned.png',
      contentType: 'image/png',
      originalName: null,
      reservedBytes: 0,
      expiresAt: null
    })
    await s.pool.query('UPDATE media SET created_at = ? WHERE id = ?', [new Date(base), pending])
    at(base + day - 1)
    t.match(await s.service.purge(), { pending: 0, failed: [] })
    at(base + day)
    t.match(await s.service.purge(), { pending: 0, failed: [] }, 'exactly the bound: it may still be running')
    t.equal(await row(pending), pending)
    at(base + day + 1)
    t.match(await s.service.purge(), { pending: 1, failed: [] })
    t.equal(await row(pending), undefined)
  })
})

t.test('MediaService purge pages through more rows than one batch', async (t) => {
  const s = await setUp(t, { graceDays: 1, unattachedTtlMs: day })
  const alice = await s.user('alice')
  const count = 250 // purge works in batches of 100: two full ones and a partial one
  const long = new Date(Date.now() - 30 * day)
  const insertRows = async (kind: string, status: string, column: 'created_at' | 'deleted_at' | 'expires_at') => {
    await s.pool.query(`INSERT INTO media (user_id, storage_key, content_type, status, ${column}) VALUES ?`, [
      Array.from({ length: count }, (_, i) => [alice, `media/${kind}-${i}.png`, 'image/png', status, long])
    ])
    for (let i = 0; i < count; i++) await writeFile(join(s.dir, `media/${kind}-${i}.png`), pngBytes)
  }
  await s.storage.put('media/live.png', bytes(pngBytes), 'image/png')
  await s.pool.query(`INSERT INTO media (user_id, storage_key, content_type, status) VALUES (?, ?, ?, 'ready')`, [
    alice,
    'media/live.png',
    'image/png'
  ])
  await insertRows('abandoned', 'pending', 'created_at')
  await insertRows('deleted', 'ready', 'deleted_at')
  await insertRows('unattached', 'ready', 'expires_at')
  await s.pool.query('INSERT INTO pending_objects (storage_key, purge_after) VALUES ?', [
    Array.from({ length: count }, (_, i) => [`profile/replaced-${i}.png`, long])
  ])
  const remaining = async () => {
    const [[media]] = await s.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM media')
    const [[objects]] = await s.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM pending_objects')
    return { media: Number(media.n), objects: Number(objects.n) }
  }
  t.same(await remaining(), { media: 3 * count + 1, objects: count })

  t.test('when the store fails, each row of every batch is reported once and kept', async (t) => {
    s.storage.failDeletes = true
    const report = await s.service.purge()
    s.storage.failDeletes = false
    t.equal(report.unattached, count, 'every unattached upload expired')
    t.equal(report.failed.length, 4 * count)
    t.equal(new Set(report.failed.map((failure) => failure.key)).size, 4 * count, 'none reported twice')
    t.same(await remaining(), { media: 3 * count + 1, objects: count })
  })

  t.test('then every row and object goes, batch after batch', async (t) => {
    t.same(await s.service.purge(), { pending: count, unattached: 0, expired: 2 * count, objects: count, failed: [] })
    t.same(await remaining(), { media: 1, objects: 0 })
    t.same(await s.files(), ['live.png'], 'only the live object is left')
  })
})

t.test('MediaService and tweets', async (t) => {
  const s = await setUp(t, { graceDays: 1 })
  const tweets = new TweetDao(s.pool)
  const [alice, bob] = [await s.user('alice'), await s.user('bob')]
  const upload = async (userId: number) => (await s.service.upload(userId, bytes(pngBytes), 'p.png')).id
  /** The attach inside the post's transaction, as the tweet service calls it. */
  const attempted: number[] = []
  const postTweet = async (userId: number, mediaIds: number[]) => {
    const connection: PoolConnection = await s.pool.getConnection()
    try {
      await connection.beginTransaction()
      const tweetId = (await tweets.postTweetIn(connection, userId, 'tweet'))!.id
      attempted.push(tweetId)
      await s.service.attachToTweet(connection, tweetId, userId, mediaIds)
      await connection.commit()
      return tweetId
    } catch (error) {
      await connection.rollback()
      throw error
    } finally {
      connection.release()
    }
  }
  const mine = [await upload(alice), await upload(alice), await upload(alice), await upload(alice), await upload(alice)]
  const bobs = await upload(bob)

  t.test('attaching refuses anything but up to four of your own ready, unattached media', async (t) => {
    const refused = async (ids: number[], wanted: Record<string, unknown>) => {
      const error = await rejection(() => postTweet(alice, ids))
      t.type(error, Invalid)
      t.match(error, { details: { field: 'media_ids', ...wanted } })
    }
    await refused(mine, { media_ids: undefined })
    await refused([mine[0], mine[0]], { media_ids: undefined })
    await refused([mine[0], bobs], { media_ids: [bobs] })
    await refused([999999], { media_ids: [999999] })
    const pending = await s.dao.insertPending(s.pool, {
      userId: alice,
      storageKey: 'media/p.png',
      contentType: 'image/png',
      originalName: null,
      reservedBytes: 0,
      expiresAt: null
    })
    await refused([pending], { media_ids: [pending] })
    await s.service.delete(alice, mine[4])
    await refused([mine[4]], { media_ids: [mine[4]] })
    t.equal(attempted.length, 6)
    const linked = [...(await s.service.mediaForTweets(attempted)).values()].flat()
    t.same(linked, [], 'a refused attach links nothing, not even the valid ids')
  })

  let first = 0
  t.test('attached media come back per tweet, in order, with URLs', async (t) => {
    first = await postTweet(alice, [mine[2], mine[0], mine[1]])
    const plain = await postTweet(alice, [])
    const again = await rejection(() => postTweet(alice, [mine[0]]))
    t.type(again, Invalid)
    t.match(again, { message: /already attached/, details: { field: 'media_ids', media_ids: [mine[0]] } })
    const grouped = await s.service.mediaForTweets([first, plain, 424242])
    t.same([...grouped.keys()], [first, plain, 424242])
    t.same(
      grouped.get(first)!.map((m) => [m.id, m.position]),
      [
        [mine[2], 0],
        [mine[0], 1],
        [mine[1], 2]
      ]
    )
    t.match(localKeyOf(grouped.get(first)![0].url), /^media\/.+\.png$/)
    t.match(grouped.get(first)![0], {
      content_type: 'image/png',
      size: pngBytes.length
    })
    t.same(grouped.get(plain), [])
    t.same(grouped.get(424242), [])
    t.same(await s.service.mediaForTweets([]), new Map())
  })

  t.test('deleting attached media takes it off the tweet; restoring puts it back', async (t) => {
    const ids = async () => (await s.service.mediaForTweets([first])).get(first)!.map((m) => m.id)
    await s.service.delete(alice, mine[0])
    t.same(await ids(), [mine[2], mine[1]])
    await s.service.restore(alice, mine[0])
    t.same(await ids(), [mine[2], mine[0], mine[1]])
  })
})

t.test('MediaService images are stored without their metadata', async (t) => {
  const s = await setUp(t, { maxMediaBytes: 100_000, maxImagePixels: 1_000_000 })
  const alice = await s.user('alice')
  const stored = (url: string) => readFile(join(s.dir, localKeyOf(url)))

  t.test('a photo loses its EXIF (GPS included) and is turned upright first', async (t) => {
    const before = await sharp(photoWithGps).metadata()
    t.ok(before.exif?.includes(gpsDatum), 'the fixture does carry a position')
    t.equal(before.orientation, 6)
    const item = await s.service.upload(alice, bytes(photoWithGps), 'IMG_0001.jpg')
    const file = await stored(item.url)
    const after = await sharp(file).metadata()
    t.equal(after.exif, undefined, 'no EXIF block at all')
    t.equal(after.xmp, undefined)
    t.equal(after.orientation, undefined)
    t.same([after.format, after.width, after.height], ['jpeg', 4, 8], 'sideways pixels stored upright')
    t.notOk(file.includes(gpsDatum))
    t.match(item, { content_type: 'image/jpeg', size: file.length, url: /\.jpg$/ })
    t.match(await s.dao.mediaOf(alice, item.id), { size: file.length })
  })

  t.test('an animated GIF keeps its frames and timing', async (t) => {
    const item = await s.service.upload(alice, bytes(animatedGif), 'a.gif')
    const after = await sharp(await stored(item.url), { animated: true }).metadata()
    t.match(after, { format: 'gif', pages: 2, delay: [100, 100], width: 8, pageHeight: 4 })
  })

  t.test('an image over MAX_IMAGE_PIXELS is refused before decoding, leaving nothing', async (t) => {
    const before = await s.files()
    const error = await rejection(() => s.service.upload(alice, bytes(largeImage), 'bomb.png'))
    t.type(error, PayloadTooLarge)
    t.match(error, { message: /1000000 pixel limit/, details: { max_pixels: 1_000_000 } })
    t.same(await s.files(), before)
    t.same(await s.pendingRows(), [])
  })

  t.test('an image that does not decode is Invalid, leaving nothing', async (t) => {
    const before = await s.files()
    const broken = Buffer.concat([pngBytes.subarray(0, 33), Buffer.alloc(200, 7)])
    await t.rejects(s.service.upload(alice, bytes(broken), 'broken.png'), Invalid)
    t.same(await s.files(), before)
    t.same(await s.pendingRows(), [])
  })
})

t.test('MediaService quota', async (t) => {
  const s = await setUp(t, { quotaBytes: 2000, graceDays: 1 })
  const [alice, bob, carol] = [await s.user('alice'), await s.user('bob'), await s.user('carol')]
  /** An MP3 of exactly `size` bytes (at least the sample's). */
  const audio = (size: number) =>
    bytes(Buffer.concat([samples.mp3.bytes, Buffer.alloc(size - samples.mp3.bytes.length)]))
  // The upload starts once the files are listed: a rejection before anyone awaits it is unhandled.
  const overQuota = async (t: Test, upload: () => Promise<unknown>, usedBytes: number) => {
    const before = await s.files()
    const error = await rejection(upload)
    t.type(error, PayloadTooLarge)
    t.match(error, { message: /media quota/, details: { quota_bytes: 2000, used_bytes: usedBytes } })
    t.same(await s.files(), before, 'nothing stored')
    t.same(await s.pendingRows(), [], 'no reservation left behind')
  }
  let first = 0

  t.test('uploads fit until the next would go over it: then PayloadTooLarge naming quota and usage', async (t) => {
    first = (await s.service.upload(alice, audio(1024), 'a.mp3')).id
    await s.service.upload(alice, audio(500), 'b.mp3')
    await overQuota(t, () => s.service.upload(alice, audio(500), 'c.mp3'), 1524)
    t.equal((await s.service.upload(alice, audio(476), 'd.mp3')).size, 476, 'exactly up to the quota is fine')
    await overQuota(t, () => s.service.upload(alice, bytes(pngBytes), 'e.png'), 2000)
    t.equal((await s.service.upload(bob, audio(1024), 'f.mp3')).size, 1024, 'the quota is per user')
  })

  t.test('deleted media count until purge removes them', async (t) => {
    await s.service.delete(alice, first)
    await overQuota(t, () => s.service.upload(alice, bytes(pngBytes), 'g.png'), 2000)
    s.clock.now = new Date(Date.now() + 2 * day)
    t.teardown(() => (s.clock.now = new Date()))
    t.match(await s.service.purge(), { expired: 1, failed: [] })
    t.equal((await s.service.upload(alice, audio(1024), 'h.mp3')).size, 1024)
  })

  t.test('concurrent uploads cannot both take the room that is left', async (t) => {
    await s.service.upload(carol, audio(600), 'i.mp3')
    const results = await Promise.allSettled([
      s.service.upload(carol, audio(1000), 'j.mp3'),
      s.service.upload(carol, audio(1000), 'k.mp3')
    ])
    t.same(results.map((result) => result.status).sort(), ['fulfilled', 'rejected'])
    t.type(results.find((result) => result.status === 'rejected')!.reason, PayloadTooLarge)
    const sizes = (await s.service.mediaOf(carol, { limit: 10 })).items.map((item) => item.size)
    t.same(sizes, [1000, 600])
    t.same(await s.pendingRows(), [])
  })
})

t.test('MediaService expires uploads left off every tweet', async (t) => {
  const s = await setUp(t, { unattachedTtlMs: day, graceDays: 2 })
  const tweets = new TweetDao(s.pool)
  const transactor = new Transactor(s.pool)
  const alice = await s.user('alice')
  const upload = async () => (await s.service.upload(alice, bytes(pngBytes), 'p.png')).id
  const attach = (mediaId: number) =>
    transactor.run(async (connection) => {
      const tweetId = (await tweets.postTweetIn(connection, alice, 'tweet'))!.id
      await s.service.attachToTweet(connection, tweetId, alice, [mediaId])
    })
  const [lonely, attached, held] = [await upload(), await upload(), await upload()]
  await attach(attached)
  const young = await upload()

  t.test('within the TTL nothing expires', async (t) => {
    s.clock.now = new Date(Date.now() + day - 60_000)
    t.match(await s.service.purge(), { unattached: 0, expired: 0 })
  })

  t.test('past it, unattached uploads go for good, at once, while a tweet being posted keeps its media', async (t) => {
    // A post that has locked `held` to attach it, not yet committed: purge must not take it.
    const connection = await s.pool.getConnection()
    t.teardown(() => connection.release())
    await connection.beginTransaction()
    const tweetId = (await tweets.postTweetIn(connection, alice, 'posting'))!.id
    await s.service.attachToTweet(connection, tweetId, alice, [held])
    s.clock.now = new Date(Date.now() + day + 60_000)
    const purges = Promise.all([s.service.purge(), s.service.purge()])
    // The post commits while the purges run: they skip its row, or find it attached.
    await connection.commit()
    const [one, two] = await purges
    t.equal(one.unattached + two.unattached, 2, 'each expired once, by one of two concurrent purges')
    t.equal(one.expired + two.expired, 2)
    t.same([...one.failed, ...two.failed], [])
    t.equal(await s.dao.mediaOf(alice, lonely), undefined)
    t.equal(await s.dao.mediaOf(alice, young), undefined, 'young at first, expired by now')
    await t.rejects(s.service.restore(alice, lonely), NotFound, 'never shown, so nothing to restore')
    t.same(
      (await s.service.mediaOf(alice, { limit: 10 })).items.map((item) => item.id),
      [held, attached],
      'media on tweets stay, including the one attached while purge ran'
    )
    t.equal((await s.files()).length, 2)
    t.match(await s.service.purge(), { unattached: 0, expired: 0 })
  })
})

t.test('MediaService purges objects no row references', async (t) => {
  const s = await setUp(t)
  const exists = (key: string) => existsSync(join(s.dir, key))

  t.test('a recorded object is removed with its record once due, and not before', async (t) => {
    await s.storage.put('profile/replaced.png', bytes(pngBytes), 'image/png')
    await s.objects.insert(s.pool, 'profile/replaced.png', new Date(0))
    await s.storage.put('profile/uploading.png', bytes(pngBytes), 'image/png')
    await s.objects.insert(s.pool, 'profile/uploading.png', new Date(Date.now() + day))
    await s.objects.insert(s.pool, 'profile/never-written.png', new Date(0))
    t.match(await s.service.purge(), { objects: 2, failed: [] })
    t.notOk(exists('profile/replaced.png'))
    t.ok(exists('profile/uploading.png'), 'an upload that may still be running is left')
    s.clock.now = new Date(Date.now() + 2 * day)
    t.teardown(() => (s.clock.now = new Date()))
    t.match(await s.service.purge(), { objects: 1, failed: [] })
    t.notOk(exists('profile/uploading.png'))
    t.same(await s.objects.due(s.clock.now, '', 10), [])
  })

  t.test('when the store fails, the record stays for the next purge', async (t) => {
    await s.storage.put('profile/stuck.png', bytes(pngBytes), 'image/png')
    await s.objects.insert(s.pool, 'profile/stuck.png', new Date(0))
    s.storage.failDeletes = true
    const report = await s.service.purge()
    s.storage.failDeletes = false
    t.match(report, {
      objects: 0,
      failed: [{ key: 'profile/stuck.png', error: { message: 'object store unreachable' } }]
    })
    t.match(await s.service.purge(), { objects: 1, failed: [] })
    t.notOk(exists('profile/stuck.png'))
  })
})

t.test('cleanOriginalName trims before and after cutting a long name to the limit', async (t) => {
  t.equal(cleanOriginalName(' ' + 'a'.repeat(300)), 'a'.repeat(255), 'a leading space takes no room')
  t.equal(cleanOriginalName('a'.repeat(254) + ' b.png'), 'a'.repeat(254), 'nor a space the cut leaves at the end')
})

t.test('MediaService refusals name the media or the user, with their messages', async (t) => {
  const final = await setUp(t)
  const graced = await setUp(t, { graceDays: 1 })
  const alice = await final.user('alice')
  const carol = await graced.user('carol')

  t.test('an upload by an unknown user; a delete of unknown media', async (t) => {
    await t.rejects(
      final.service.upload(999_999, bytes(pngBytes), 'p.png'),
      new NotFound('User not found', { user_id: 999_999 })
    )
    await t.rejects(final.service.delete(alice, 999_999), new NotFound('Media not found', { media_id: 999_999 }))
  })

  t.test('a restore: of media not deleted, or when deletes are final, or past the grace period', async (t) => {
    const item = await final.service.upload(alice, bytes(pngBytes), 'p.png')
    await t.rejects(
      final.service.restore(alice, item.id),
      new Conflict('This media item is not deleted', { media_id: item.id })
    )
    await final.service.delete(alice, item.id)
    const finalMessage =
      'Media not found: deleting media is final on this server (MEDIA_GRACE_DAYS=0), so nothing can be restored'
    await t.rejects(final.service.restore(alice, item.id), new NotFound(finalMessage, { media_id: item.id }))
    const kept = await graced.service.upload(carol, bytes(pngBytes), 'p.png')
    await graced.service.delete(carol, kept.id)
    graced.clock.now = new Date(Date.now() + 2 * day)
    t.teardown(() => (graced.clock.now = new Date()))
    await t.rejects(
      graced.service.restore(carol, kept.id),
      new NotFound('Media not found, or its restore period (MEDIA_GRACE_DAYS) has ended', { media_id: kept.id })
    )
  })

  t.test('a delete the store fails is Unavailable, naming the media and carrying the store’s error', async (t) => {
    const item = await final.service.upload(alice, bytes(pngBytes), 'p.png')
    final.storage.failDeletes = true
    t.teardown(() => (final.storage.failDeletes = false))
    const error = await rejection(() => final.service.delete(alice, item.id))
    t.type(error, Unavailable)
    t.match(error, {
      message: 'The file store is unavailable; the media was not deleted, please try again',
      details: { media_id: item.id },
      cause: { message: 'object store unreachable' }
    })
  })
})

t.test('MediaService attaches up to maxTweetMedia items, and names the ones it refuses', async (t) => {
  const s = await setUp(t)
  const transactor = new Transactor(s.pool)
  const tweets = new TweetDao(s.pool)
  const alice = await s.user('alice')
  const upload = async () => (await s.service.upload(alice, bytes(pngBytes), 'p.png')).id
  const post = (mediaIds: number[]) =>
    transactor.run(async (connection) => {
      const tweetId = (await tweets.postTweetIn(connection, alice, 'tweet'))!.id
      await s.service.attachToTweet(connection, tweetId, alice, mediaIds)
      return tweetId
    })
  const ids: number[] = []
  for (let i = 0; i <= maxTweetMedia; i++) ids.push(await upload())

  t.test('more than maxTweetMedia, or one twice, or one not among the user’s uploads', async (t) => {
    await t.rejects(
      post(ids),
      new Invalid(`A tweet can have at most ${maxTweetMedia} media items`, { field: 'media_ids' })
    )
    await t.rejects(post([ids[0], ids[0]]), new Invalid('The same media item is listed twice', { field: 'media_ids' }))
    await t.rejects(
      post([ids[0], 999_999]),
      new Invalid('Media not found among your uploads', { field: 'media_ids', media_ids: [999_999] })
    )
  })

  t.test('exactly maxTweetMedia are attached; then only those already on a tweet are named', async (t) => {
    const tweetId = await post(ids.slice(0, maxTweetMedia))
    t.same(
      (await s.service.mediaForTweets([tweetId])).get(tweetId)!.map((m) => m.id),
      ids.slice(0, maxTweetMedia)
    )
    await t.rejects(
      post([ids[maxTweetMedia], ids[1]]),
      new Invalid('Media is already attached to a tweet', { field: 'media_ids', media_ids: [ids[1]] })
    )
  })
})
