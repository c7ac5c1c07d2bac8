import { readdir } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import sharp from 'sharp'
import t from 'tap'
import { buildTestApp, localKeyOf, signUpAndLogin, testUploadDir, type TestUser } from '../helper.ts'
import { multipart, pngBytes } from '../../scripts/support/uploads.ts'
import { gpsDatum, photoWithGps } from '../media-fixtures.ts'

const gifBytes = Buffer.from('474946383961010001000000002c00000000010001000002024401003b', 'hex')

const publicUrl = 'https://miniter.example'

function uploadPicture(app: FastifyInstance, user: TestUser, headers: Record<string, string> = {}) {
  const form = multipart('profile_pic', 'me.png', 'image/png', pngBytes)
  return app.inject({
    method: 'POST',
    url: '/profile-picture',
    headers: { ...form.headers, ...headers, authorization: user.token },
    payload: form.payload
  })
}

t.test('profile pictures', async (t) => {
  const uploadDir = await testUploadDir(t)
  const app = await buildTestApp(t, { UPLOAD_DIR: uploadDir, MAX_UPLOAD_BYTES: '2048', PUBLIC_URL: publicUrl })
  const alice = await signUpAndLogin(app, 'Alice')
  const bob = await signUpAndLogin(app, 'Bob')
  const upload = (bytes: Buffer, opts: { field?: string; name?: string; type?: string; token?: string } = {}) => {
    const form = multipart(opts.field ?? 'profile_pic', opts.name ?? 'me.png', opts.type ?? 'image/png', bytes)
    return app.inject({
      method: 'POST',
      url: '/profile-picture',
      headers: { ...form.headers, authorization: opts.token ?? alice.token },
      payload: form.payload
    })
  }
  const files = async () => (await readdir(uploadDir, { recursive: true })).filter((f) => f.includes('.'))

  t.test('a user without a picture answers 404', async (t) => {
    t.equal((await app.inject({ url: `/profile-picture/${alice.id}` })).statusCode, 404)
    t.equal((await app.inject({ url: '/profile-picture/999999' })).statusCode, 404)
  })

  t.test('uploading answers an absolute img_url that serves the same bytes', async (t) => {
    const res = await upload(pngBytes)
    t.equal(res.statusCode, 200)
    const { img_url } = res.json()
    t.match(localKeyOf(img_url, publicUrl), /^profile\/[0-9a-f-]+\.png$/, 'PUBLIC_URL, /uploads/ and the key')
    const again = await app.inject({ url: `/profile-picture/${alice.id}` })
    t.same(again.json(), { img_url })
    const file = await app.inject({ url: new URL(img_url).pathname })
    t.equal(file.statusCode, 200)
    t.same(file.rawPayload, pngBytes)
    t.match(file.headers['cache-control'], /immutable/)
    const missing = await app.inject({ url: '/uploads/profile/00000000-0000-0000-0000-000000000000.png' })
    t.equal(missing.statusCode, 404, 'a missing file is 404, not 405')
    t.type(missing.json().message, 'string')
  })

  t.test('the stored name is generated, never the client’s', async (t) => {
    const res = await upload(pngBytes, { name: '../../etc/passwd.png' })
    t.equal(res.statusCode, 200)
    t.notMatch(res.json().img_url, /passwd|\.\./)
  })

  t.test('replacing a picture removes the old file', async (t) => {
    const before = await files()
    t.equal(before.length, 1)
    const res = await upload(gifBytes, { name: 'x.gif', type: 'image/gif' })
    t.equal(res.statusCode, 200)
    t.match(res.json().img_url, /\.gif$/)
    const after = await files()
    t.equal(after.length, 1)
    t.not(after[0], before[0])
  })

  t.test('a photo is served without its EXIF position, upright, and replaces the old file', async (t) => {
    const before = await files()
    const res = await upload(photoWithGps, { name: 'IMG_0001.jpg', type: 'image/jpeg' })
    t.equal(res.statusCode, 200)
    const file = await app.inject({ url: new URL(res.json().img_url).pathname })
    const metadata = await sharp(file.rawPayload).metadata()
    t.equal(metadata.exif, undefined)
    t.same([metadata.format, metadata.width, metadata.height], ['jpeg', 4, 8])
    t.notOk(file.rawPayload.includes(gpsDatum))
    const after = await files()
    t.equal(after.length, 1)
    t.not(after[0], before[0])
  })

  t.test('a PNG that does not decode answers 400 and stores nothing', async (t) => {
    const before = await files()
    const res = await upload(Buffer.concat([pngBytes.subarray(0, 33), Buffer.alloc(200, 7)]))
    t.equal(res.statusCode, 400)
    t.same(res.json(), { message: 'The image could not be decoded' })
    t.same(await files(), before)
  })

  t.test('the type comes from the bytes: a text file named .png answers 415', async (t) => {
    const res = await upload(Buffer.from('<?php echo "hi"; ?>'.repeat(10)), { name: 'evil.png', type: 'image/png' })
    t.equal(res.statusCode, 415)
    t.match(res.json().message, /Unsupported file type/)
  })

  t.test('a PNG declared as text is still accepted as PNG', async (t) => {
    const res = await upload(pngBytes, { name: 'a.txt', type: 'text/plain' })
    t.equal(res.statusCode, 200)
    t.match(res.json().img_url, /\.png$/)
  })

  t.test('a file over the size cap answers 413 and leaves nothing behind', async (t) => {
    const before = await files()
    const big = Buffer.concat([pngBytes, Buffer.alloc(4096)])
    const res = await upload(big)
    t.equal(res.statusCode, 413)
    t.match(res.json().message, /limit/)
    t.same(await files(), before)
  })

  t.test('the wrong field name or no file answers 400', async (t) => {
    const res = await upload(pngBytes, { field: 'picture' })
    t.equal(res.statusCode, 400)
    t.match(res.json(), { field: 'profile_pic' })
  })

  t.test('a request that is not multipart answers 4xx JSON', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/profile-picture',
      headers: { authorization: alice.token },
      payload: { profile_pic: 'x' }
    })
    t.equal(res.statusCode, 415)
    t.type(res.json().message, 'string')
  })

  t.test('without a token answers 401', async (t) => {
    t.equal((await upload(pngBytes, { token: '' })).statusCode, 401)
  })

  t.test('each user has their own picture', async (t) => {
    t.equal((await app.inject({ url: `/profile-picture/${bob.id}` })).statusCode, 404)
  })

  t.test('user B cannot remove user A’s picture: DELETE acts on the caller’s own only', async (t) => {
    t.equal(
      (await app.inject({ method: 'DELETE', url: '/profile-picture', headers: { authorization: bob.token } }))
        .statusCode,
      404
    )
    t.equal((await app.inject({ url: `/profile-picture/${alice.id}` })).statusCode, 200)
  })

  t.test('DELETE /profile-picture answers 204 and the stored file is gone', async (t) => {
    t.equal((await files()).length, 1)
    const res = await app.inject({ method: 'DELETE', url: '/profile-picture', headers: { authorization: alice.token } })
    t.equal(res.statusCode, 204)
    t.same(await files(), [])
    t.equal((await app.inject({ url: `/profile-picture/${alice.id}` })).statusCode, 404)
    t.equal(
      (await app.inject({ method: 'DELETE', url: '/profile-picture', headers: { authorization: alice.token } }))
        .statusCode,
      404
    )
    t.equal((await app.inject({ method: 'DELETE', url: '/profile-picture' })).statusCode, 401)
  })
})

t.test('file URLs come from the configuration, never from the request', async (t) => {
  t.test('PUBLIC_URL is honoured whatever Host or X-Forwarded-Host a client sends', async (t) => {
    const app = await buildTestApp(t, { PUBLIC_URL: 'https://pics.miniter.example/', TRUST_PROXY: '127.0.0.1' })
    const alice = await signUpAndLogin(app, 'Alice')
    const forged = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' }
    const res = await uploadPicture(app, alice, forged)
    t.equal(res.statusCode, 200)
    const key = localKeyOf(res.json().img_url, 'https://pics.miniter.example')
    t.match(key, /^profile\/[0-9a-f-]+\.png$/)
    const lookup = await app.inject({ url: `/profile-picture/${alice.id}`, headers: forged })
    t.same(lookup.json(), { img_url: `https://pics.miniter.example/uploads/${key}` })
  })

  t.test('without PUBLIC_URL, the development default: localhost and PORT', async (t) => {
    const app = await buildTestApp(t, { PORT: '5123' })
    const alice = await signUpAndLogin(app, 'Alice')
    const res = await uploadPicture(app, alice, { host: 'evil.example' })
    t.equal(res.statusCode, 200)
    t.match(localKeyOf(res.json().img_url, 'http://localhost:5123'), /^profile\/[0-9a-f-]+\.png$/)
  })

  t.test('without PUBLIC_URL and with a single HOST, that address', async (t) => {
    const app = await buildTestApp(t, { HOST: '127.0.0.1', PORT: '5124' })
    const alice = await signUpAndLogin(app, 'Alice')
    const res = await uploadPicture(app, alice)
    t.match(localKeyOf(res.json().img_url, 'http://127.0.0.1:5124'), /^profile\/[0-9a-f-]+\.png$/)
  })
})
