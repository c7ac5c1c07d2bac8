import { existsSync } from 'node:fs'
import { readdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import sharp from 'sharp'
import t from 'tap'
import { createPool } from '../../model/database.ts'
import { MediaDao } from '../../model/media-dao.ts'
import { appFor, localKeyOf, signUpAndLogin, testConfig, testUploadDir, type TestUser } from '../helper.ts'
import { multipart, pngBytes } from '../../scripts/support/uploads.ts'
import { gpsDatum, largeImage, photoWithGps, refused, samples } from '../media-fixtures.ts'
import { startS3Server } from '../../scripts/support/s3-server.ts'

/** The app on a throwaway database, its upload folder, and a DAO on the same database to look behind the API. */
async function mediaApp(t: { teardown(fn: () => unknown): void }, env: Record<string, string> = {}) {
  const uploadDir = await testUploadDir(t)
  const config = await testConfig(t, { UPLOAD_DIR: uploadDir, ...env })
  const app = await appFor(config)
  t.teardown(() => app.close())
  await app.ready()
  const pool = createPool(config.databaseUrl)
  t.teardown(() => pool.end())
  const dao = new MediaDao(pool)
  const files = async () =>
    existsSync(join(uploadDir, 'media')) ? (await readdir(join(uploadDir, 'media'))).sort() : []
  const pendingRows = async () => dao.stalePending(new Date(Date.now() + 86_400_000), 0, 1000)
  const upload = (user: TestUser, bytes: Buffer, opts: { field?: string; name?: string; type?: string } = {}) => {
    const form = multipart(
      opts.field ?? 'file',
      opts.name ?? 'upload.png',
      opts.type ?? 'application/octet-stream',
      bytes
    )
    return app.inject({
      method: 'POST',
      url: '/media',
      headers: { ...form.headers, authorization: user.token },
      payload: form.payload
    })
  }
  const list = (user: TestUser, query = '') =>
    app.inject({ url: `/media${query}`, headers: { authorization: user.token } })
  const remove = (user: TestUser, id: number | string) =>
    app.inject({ method: 'DELETE', url: `/media/${id}`, headers: { authorization: user.token } })
  const restore = (user: TestUser, id: number | string) =>
    app.inject({ method: 'POST', url: `/media/${id}/restore`, headers: { authorization: user.token } })
  return { app, publicUrl: config.publicUrl, uploadDir, dao, files, pendingRows, upload, list, remove, restore }
}

t.test('POST /media', async (t) => {
  const m = await mediaApp(t, { MAX_MEDIA_BYTES: '4096', MAX_UPLOAD_BYTES: '1024' })
  const alice = await signUpAndLogin(m.app, 'Alice')

  t.test('answers 201 with the item, whose absolute url serves the same bytes', async (t) => {
    const res = await m.upload(alice, pngBytes, { name: '../../셀카 😀.png', type: 'image/png' })
    t.equal(res.statusCode, 201)
    const body = res.json()
    t.same(Object.keys(body).sort(), ['content_type', 'created_at', 'id', 'original_name', 'size', 'url'])
    t.match(localKeyOf(body.url, m.publicUrl), /^media\/[0-9a-f-]{36}\.png$/, 'the storage base, /uploads/, the key')
    t.match(body, {
      id: Number,
      content_type: 'image/png',
      size: pngBytes.length,
      original_name: '셀카 😀.png'
    })
    t.ok(Math.abs(Date.parse(body.created_at) - Date.now()) < 60_000, 'created_at is now, in ISO form')
    const file = await m.app.inject({ url: new URL(body.url).pathname })
    t.equal(file.statusCode, 200)
    t.same(file.rawPayload, pngBytes)
    t.match(file.headers['cache-control'], /immutable/)
  })

  t.test('audio is accepted by its bytes, whatever it is called or declared as', async (t) => {
    const mp3 = await m.upload(alice, samples.mp3.bytes, { name: 'memo.txt', type: 'text/plain' })
    t.equal(mp3.statusCode, 201)
    t.match(mp3.json(), { content_type: 'audio/mpeg', url: /\.mp3$/, original_name: 'memo.txt' })
    const webm = await m.upload(alice, samples.webm.bytes, { name: 'recording.webm', type: 'audio/webm' })
    t.equal(webm.statusCode, 201)
    t.match(webm.json(), { content_type: 'audio/webm', url: /\.webm$/ })
  })

  t.test('a file that is no accepted image or audio answers 415 and stores nothing', async (t) => {
    const before = await m.files()
    const text = await m.upload(alice, Buffer.from('<?php echo "hi"; ?>'.repeat(10)), {
      name: 'evil.png',
      type: 'image/png'
    })
    t.equal(text.statusCode, 415)
    t.match(text.json(), { message: /Unsupported file type/, allowed: Array })
    t.ok(text.json().allowed.includes('audio/webm'), 'WebM is listed as what uploads report: audio/webm')
    t.notMatch(text.json().message, /video\/webm/)
    const pdf = await m.upload(alice, refused.pdf, { name: 'song.mp3', type: 'audio/mpeg' })
    t.equal(pdf.statusCode, 415)
    t.match(pdf.json().message, /application\/pdf/)
    t.same(await m.files(), before)
    t.same(await m.pendingRows(), [])
  })

  t.test('a file over MAX_MEDIA_BYTES answers 413 and leaves neither object nor row', async (t) => {
    const before = await m.files()
    const res = await m.upload(alice, Buffer.concat([pngBytes, Buffer.alloc(8192)]))
    t.equal(res.statusCode, 413)
    t.match(res.json(), { message: /4096 byte limit/, max_bytes: 4096 })
    t.same(await m.files(), before)
    t.same(await m.pendingRows(), [])
  })

  t.test('each upload keeps its own cap under the shared multipart limit', async (t) => {
    const mid = Buffer.concat([pngBytes, Buffer.alloc(3000)])
    t.equal((await m.upload(alice, mid)).statusCode, 201, 'media above the profile picture cap')
    const form = multipart('profile_pic', 'me.png', 'image/png', mid)
    const picture = await m.app.inject({
      method: 'POST',
      url: '/profile-picture',
      headers: { ...form.headers, authorization: alice.token },
      payload: form.payload
    })
    t.equal(picture.statusCode, 413, 'the profile picture cap still holds')
  })

  t.test('a missing file field or a non-multipart body answers 4xx', async (t) => {
    const wrong = await m.upload(alice, pngBytes, { field: 'media' })
    t.equal(wrong.statusCode, 400)
    t.match(wrong.json(), { field: 'file' })
    const json = await m.app.inject({
      method: 'POST',
      url: '/media',
      headers: { authorization: alice.token },
      payload: { file: 'x' }
    })
    t.equal(json.statusCode, 415)
  })

  t.test('every media route needs a token', async (t) => {
    const form = multipart('file', 'a.png', 'image/png', pngBytes)
    const requests = [
      { method: 'POST' as const, url: '/media', headers: form.headers, payload: form.payload },
      { method: 'GET' as const, url: '/media' },
      { method: 'DELETE' as const, url: '/media/1' },
      { method: 'POST' as const, url: '/media/1/restore' }
    ]
    for (const request of requests) {
      t.equal((await m.app.inject(request)).statusCode, 401, `${request.method} ${request.url}`)
    }
  })
})

t.test('a profile picture cap above the media cap', async (t) => {
  const m = await mediaApp(t, { MAX_MEDIA_BYTES: '1024', MAX_UPLOAD_BYTES: '4096' })
  const alice = await signUpAndLogin(m.app, 'Alice')
  const mid = Buffer.concat([pngBytes, Buffer.alloc(3000)])
  t.equal((await m.upload(alice, mid)).statusCode, 413)
  const form = multipart('profile_pic', 'me.png', 'image/png', mid)
  const picture = await m.app.inject({
    method: 'POST',
    url: '/profile-picture',
    headers: { ...form.headers, authorization: alice.token },
    payload: form.payload
  })
  t.equal(picture.statusCode, 200)
})

t.test('GET /media', async (t) => {
  const m = await mediaApp(t)
  const alice = await signUpAndLogin(m.app, 'Alice')
  const bob = await signUpAndLogin(m.app, 'Bob')
  const uploadId = async (user: TestUser) => (await m.upload(user, pngBytes)).json().id as number
  const ids: number[] = []
  for (let i = 0; i < 5; i++) ids.push(await uploadId(alice))
  const bobs = await uploadId(bob)

  t.test("lists only the caller's own media, newest first, 20 by default", async (t) => {
    const res = await m.list(alice)
    t.equal(res.statusCode, 200)
    t.same(
      res.json().media.map((item: { id: number }) => item.id),
      [...ids].reverse()
    )
    t.equal(res.json().next_cursor, null)
    t.match(localKeyOf(res.json().media[0].url, m.publicUrl), /^media\//)
    t.match(res.json().media[0], { content_type: 'image/png', original_name: 'upload.png' })
    t.same(
      (await m.list(bob)).json().media.map((item: { id: number }) => item.id),
      [bobs]
    )
  })

  t.test('pages by limit and before without repeating or skipping as uploads arrive', async (t) => {
    const first = (await m.list(alice, '?limit=2')).json()
    t.same(
      first.media.map((item: { id: number }) => item.id),
      [ids[4], ids[3]]
    )
    t.equal(first.next_cursor, ids[3])
    await uploadId(alice)
    const second = (await m.list(alice, `?limit=2&before=${first.next_cursor}`)).json()
    t.same(
      second.media.map((item: { id: number }) => item.id),
      [ids[2], ids[1]]
    )
    await uploadId(alice)
    const third = (await m.list(alice, `?limit=2&before=${second.next_cursor}`)).json()
    t.same(third, { media: [third.media[0]], next_cursor: null })
    t.equal(third.media[0].id, ids[0])
  })

  t.test('a bad limit or cursor answers 400 naming it', async (t) => {
    for (const query of ['?limit=0', '?limit=101', '?limit=x']) {
      const res = await m.list(alice, query)
      t.equal(res.statusCode, 400, query)
      t.match(res.json(), { errors: [{ field: 'limit' }] })
    }
    const res = await m.list(alice, '?before=-3')
    t.equal(res.statusCode, 400)
    t.match(res.json(), { errors: [{ field: 'before' }] })
  })
})

t.test('DELETE /media/:id without a grace period', async (t) => {
  const m = await mediaApp(t)
  const alice = await signUpAndLogin(m.app, 'Alice')
  const bob = await signUpAndLogin(m.app, 'Bob')

  t.test("someone else's or an unknown id answers 404 and deletes nothing", async (t) => {
    const item = (await m.upload(alice, pngBytes)).json()
    const other = await m.remove(bob, item.id)
    t.equal(other.statusCode, 404)
    const unknown = await m.remove(bob, 999999)
    t.equal(unknown.statusCode, 404)
    t.equal(other.json().message, unknown.json().message, 'the same answer as for an id that does not exist')
    t.equal((await m.remove(alice, 'abc')).statusCode, 400)
    t.equal((await m.list(alice)).json().media.length, 1)
    t.equal((await m.restore(bob, item.id)).statusCode, 404, "nor can bob restore alice's media")
  })

  t.test('media ids are checked as the BIGINT they are, in paths as in media_ids', async (t) => {
    const beyondInt = 2 ** 32
    t.equal((await m.remove(alice, beyondInt)).statusCode, 404, 'above 32 bits: an id that does not exist')
    t.equal((await m.restore(alice, beyondInt)).statusCode, 404)
    const post = (mediaIds: number[]) =>
      m.app.inject({
        method: 'POST',
        url: '/tweet',
        headers: { authorization: alice.token },
        payload: { tweet: 'x', media_ids: mediaIds }
      })
    t.match((await post([beyondInt])).json(), { message: 'Media not found among your uploads', field: 'media_ids' })
    const unsafe = 2 ** 53
    const inPath = await m.remove(alice, unsafe)
    const inBody = await post([unsafe])
    t.same([inPath.statusCode, inBody.statusCode], [400, 400], 'beyond 2^53 - 1: no such id can be named')
    const messages = (res: typeof inPath) => res.json<{ errors: { message: string }[] }>().errors.map((e) => e.message)
    t.ok(messages(inPath).includes('is too large'))
    t.same(messages(inBody), messages(inPath), 'with the same messages')
    t.match(inBody.json().errors, [{ location: 'body', field: 'media_ids.0' }])
  })

  t.test('the owner deletes the row and the object at once', async (t) => {
    const [item] = (await m.list(alice)).json().media
    const res = await m.remove(alice, item.id)
    t.equal(res.statusCode, 204)
    t.equal(res.body, '')
    t.same((await m.list(alice)).json().media, [])
    t.same(await m.files(), [])
    t.equal((await m.app.inject({ url: new URL(item.url).pathname })).statusCode, 404)
    t.equal((await m.remove(alice, item.id)).statusCode, 404)
    const restore = await m.restore(alice, item.id)
    t.equal(restore.statusCode, 404, 'without a grace period a delete is final')
    t.match(restore.json().message, /MEDIA_GRACE_DAYS=0/, 'and the answer says which setting would allow it')
  })

  t.test('restoring media that is not deleted answers 409', async (t) => {
    const item = (await m.upload(alice, pngBytes)).json()
    const res = await m.restore(alice, item.id)
    t.equal(res.statusCode, 409)
    t.match(res.json(), { message: /not deleted/, media_id: item.id })
    await m.remove(alice, item.id)
  })

  t.test('when the store fails the delete answers 503, keeps the item, and can be retried', async (t) => {
    const item = (await m.upload(alice, pngBytes)).json()
    // A plain file where the media folder was: removing anything under it fails for real.
    const folder = join(m.uploadDir, 'media')
    await rename(folder, `${folder}.away`)
    await writeFile(folder, 'not a folder')
    const failed = await m.remove(alice, item.id)
    await rm(folder)
    await rename(`${folder}.away`, folder)
    t.equal(failed.statusCode, 503)
    t.match(failed.json(), { message: /try again/, media_id: item.id })
    t.notMatch(failed.body, /ENOTDIR|uploads|\/tmp/, 'no internals in the answer')
    t.same(
      (await m.list(alice)).json().media.map((i: { id: number }) => i.id),
      [item.id]
    )
    t.equal((await m.app.inject({ url: new URL(item.url).pathname })).statusCode, 200)
    t.equal((await m.remove(alice, item.id)).statusCode, 204)
    t.same(await m.files(), [])
  })
})

t.test('DELETE and restore with MEDIA_GRACE_DAYS', async (t) => {
  const m = await mediaApp(t, { MEDIA_GRACE_DAYS: '1' })
  const alice = await signUpAndLogin(m.app, 'Alice')
  const bob = await signUpAndLogin(m.app, 'Bob')

  t.test('a deleted item leaves the list at once and comes back on restore', async (t) => {
    const item = (await m.upload(alice, pngBytes, { name: 'keep.png' })).json()
    t.equal((await m.remove(bob, item.id)).statusCode, 404)
    t.equal((await m.remove(alice, item.id)).statusCode, 204)
    t.same((await m.list(alice)).json().media, [])
    t.equal((await m.remove(alice, item.id)).statusCode, 404, 'deleting twice')
    t.equal((await m.files()).length, 1, 'the object waits out the grace period')
    t.equal((await m.restore(bob, item.id)).statusCode, 404, "bob cannot restore alice's media")
    const restored = await m.restore(alice, item.id)
    t.equal(restored.statusCode, 200)
    t.same(restored.json(), item)
    t.same((await m.list(alice)).json().media, [item])
    t.equal((await m.restore(alice, item.id)).statusCode, 409, 'restoring twice')
  })

  t.test('purge leaves items still within their period', async (t) => {
    const [item] = (await m.list(alice)).json().media
    await m.remove(alice, item.id)
    t.match(await m.app.purgeMedia(), { pending: 0, expired: 0, failed: [] })
    t.equal((await m.restore(alice, item.id)).statusCode, 200)
  })
})

t.test('after the grace period restore answers 404 and purge removes the item for good', async (t) => {
  // 0.00001 days is under a second.
  const m = await mediaApp(t, { MEDIA_GRACE_DAYS: '0.00001' })
  const alice = await signUpAndLogin(m.app, 'Alice')
  const item = (await m.upload(alice, pngBytes)).json()
  const kept = (await m.upload(alice, pngBytes)).json()
  t.equal((await m.remove(alice, item.id)).statusCode, 204)
  await sleep(1500)
  t.equal((await m.restore(alice, item.id)).statusCode, 404)
  t.equal((await m.files()).length, 2)
  t.match(await m.app.purgeMedia(), { pending: 0, expired: 1, failed: [] })
  t.same(await m.files(), [new URL(kept.url).pathname.split('/').at(-1)])
  t.equal(await m.dao.mediaOf(alice.id, item.id), undefined)
  t.same(
    (await m.list(alice)).json().media.map((i: { id: number }) => i.id),
    [kept.id]
  )
})

t.test('MEDIA_QUOTA_BYTES', async (t) => {
  const m = await mediaApp(t, { MEDIA_QUOTA_BYTES: '1000', MAX_MEDIA_BYTES: '4096' })
  const alice = await signUpAndLogin(m.app, 'Alice')
  const bob = await signUpAndLogin(m.app, 'Bob')
  const mp3 = (size: number) => Buffer.concat([samples.mp3.bytes, Buffer.alloc(size - samples.mp3.bytes.length)])

  t.test('an upload that would go over it answers 413 naming the quota and the usage, storing nothing', async (t) => {
    t.equal((await m.upload(alice, mp3(800))).statusCode, 201)
    const before = await m.files()
    const res = await m.upload(alice, mp3(500))
    t.equal(res.statusCode, 413)
    t.same(res.json(), {
      message: 'This upload would exceed your media quota: 800 of 1000 bytes are used',
      quota_bytes: 1000,
      used_bytes: 800
    })
    t.same(await m.files(), before)
    t.same(await m.pendingRows(), [])
    t.equal((await m.upload(bob, mp3(500))).statusCode, 201, "another user's quota is their own")
  })

  t.test('deleting frees the room', async (t) => {
    const [item] = (await m.list(alice)).json().media
    t.equal((await m.remove(alice, item.id)).statusCode, 204)
    t.equal((await m.upload(alice, mp3(500))).statusCode, 201)
  })
})

t.test('images are served without their metadata', async (t) => {
  const m = await mediaApp(t, { MAX_MEDIA_BYTES: '100000', MAX_IMAGE_PIXELS: '1000000' })
  const alice = await signUpAndLogin(m.app, 'Alice')

  t.test('a photo loses its EXIF position and is served upright, with the size it is served at', async (t) => {
    const res = await m.upload(alice, photoWithGps, { name: 'IMG_0001.jpg', type: 'image/jpeg' })
    t.equal(res.statusCode, 201)
    const file = await m.app.inject({ url: new URL(res.json().url).pathname })
    t.equal(res.json().size, file.rawPayload.length)
    const metadata = await sharp(file.rawPayload).metadata()
    t.equal(metadata.exif, undefined)
    t.same([metadata.format, metadata.width, metadata.height], ['jpeg', 4, 8])
    t.notOk(file.rawPayload.includes(gpsDatum))
  })

  t.test('an image over MAX_IMAGE_PIXELS answers 413 naming the limit; one that does not decode 400', async (t) => {
    const bomb = await m.upload(alice, largeImage, { name: 'bomb.png' })
    t.equal(bomb.statusCode, 413)
    t.same(bomb.json(), { message: 'Image is larger than the 1000000 pixel limit', max_pixels: 1000000 })
    const broken = await m.upload(alice, Buffer.concat([pngBytes.subarray(0, 33), Buffer.alloc(200, 7)]), {
      name: 'broken.png'
    })
    t.equal(broken.statusCode, 400)
    t.same(broken.json(), { message: 'The image could not be decoded' })
    t.same(await m.pendingRows(), [])
  })
})

t.test('with STORAGE=s3 the bucket gets the stripped image', async (t) => {
  const s3 = await startS3Server(t)
  const m = await mediaApp(t, { ...s3.env, MAX_MEDIA_BYTES: '100000' })
  const alice = await signUpAndLogin(m.app, 'Alice')
  const res = await m.upload(alice, photoWithGps, { name: 'IMG_0001.jpg' })
  t.equal(res.statusCode, 201)
  const file = Buffer.from(await (await fetch(res.json().url)).arrayBuffer())
  t.equal(file.length, res.json().size)
  t.equal((await sharp(file).metadata()).exif, undefined)
  t.notOk(file.includes(gpsDatum))
})

t.test(
  'MEDIA_UNATTACHED_TTL: uploads left off every tweet are purged; a listening server purges at start',
  async (t) => {
    const m = await mediaApp(t, { MEDIA_UNATTACHED_TTL: '1s' })
    const alice = await signUpAndLogin(m.app, 'Alice')
    const lonely = (await m.upload(alice, pngBytes)).json()
    const posted = (await m.upload(alice, pngBytes)).json()
    const tweet = await m.app.inject({
      method: 'POST',
      url: '/tweet',
      headers: { authorization: alice.token },
      payload: { tweet: 'with a picture', media_ids: [posted.id] }
    })
    t.equal(tweet.statusCode, 200)
    await sleep(1500)
    await m.app.listen({ port: 0, host: '127.0.0.1' })
    for (let i = 0; i < 200 && (await m.files()).length > 1; i++) await sleep(50)
    t.same(await m.files(), [new URL(posted.url).pathname.split('/').at(-1)], 'only the media on a tweet is left')
    t.same(
      (await m.list(alice)).json().media.map((item: { id: number }) => item.id),
      [posted.id]
    )
    t.equal((await m.restore(alice, lonely.id)).statusCode, 404)
  }
)
