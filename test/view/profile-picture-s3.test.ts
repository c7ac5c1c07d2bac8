// The profile-picture routes with STORAGE=s3, against a loopback s3rver: the bucket serves the files.
import sharp from 'sharp'
import t from 'tap'
import { buildTestApp, signUpAndLogin } from '../helper.ts'
import { multipart, pngBytes } from '../../scripts/support/uploads.ts'
import { gpsDatum, photoWithGps } from '../media-fixtures.ts'
import { startS3Server } from '../../scripts/support/s3-server.ts'

const gifBytes = Buffer.from('474946383961010001000000002c00000000010001000002024401003b', 'hex')

t.test('profile pictures in S3', async (t) => {
  const s3 = await startS3Server(t)
  const app = await buildTestApp(t, { ...s3.env, MAX_UPLOAD_BYTES: '2048' })
  const alice = await signUpAndLogin(app, 'Alice')
  const upload = (bytes: Buffer, name: string, type: string) => {
    const form = multipart('profile_pic', name, type, bytes)
    return app.inject({
      method: 'POST',
      url: '/profile-picture',
      headers: { ...form.headers, authorization: alice.token },
      payload: form.payload
    })
  }
  const objectUrl = new RegExp(`^${s3.endpoint}/${s3.bucket}/profile/[0-9a-f-]+\\.png$`)

  t.test('uploading answers the absolute bucket URL, which serves the same bytes', async (t) => {
    const res = await upload(pngBytes, 'me.png', 'image/png')
    t.equal(res.statusCode, 200)
    const { img_url } = res.json()
    t.match(img_url, objectUrl)
    t.same((await app.inject({ url: `/profile-picture/${alice.id}` })).json(), { img_url })
    const file = await fetch(img_url)
    t.equal(file.status, 200)
    t.equal(file.headers.get('content-type'), 'image/png')
    t.match(file.headers.get('cache-control'), /immutable/)
    t.same(Buffer.from(await file.arrayBuffer()), pngBytes)
    t.same(await s3.keys(), [new URL(img_url).pathname.slice(`/${s3.bucket}/`.length)])
  })

  t.test('replacing a picture deletes the old object', async (t) => {
    const before = await s3.keys()
    t.equal(before.length, 1)
    const old = (await app.inject({ url: `/profile-picture/${alice.id}` })).json().img_url
    const res = await upload(gifBytes, 'x.gif', 'image/gif')
    t.equal(res.statusCode, 200)
    const { img_url } = res.json()
    t.match(img_url, /\.gif$/)
    const after = await s3.keys()
    t.equal(after.length, 1)
    t.not(after[0], before[0])
    t.equal((await fetch(old)).status, 404)
    const served = await fetch(img_url)
    t.equal(served.headers.get('content-type'), 'image/gif')
    t.match(await sharp(Buffer.from(await served.arrayBuffer())).metadata(), { format: 'gif', width: 1, height: 1 })
  })

  t.test('a photo is stored in the bucket without its EXIF position, upright', async (t) => {
    const res = await upload(photoWithGps, 'IMG_0001.jpg', 'image/jpeg')
    t.equal(res.statusCode, 200)
    const file = Buffer.from(await (await fetch(res.json().img_url)).arrayBuffer())
    const metadata = await sharp(file).metadata()
    t.equal(metadata.exif, undefined)
    t.same([metadata.format, metadata.width, metadata.height], ['jpeg', 4, 8])
    t.notOk(file.includes(gpsDatum))
    t.equal((await s3.keys()).length, 1, 'the replaced picture is gone from the bucket')
  })

  t.test('a file over the size cap answers 413 and stores nothing', async (t) => {
    const before = await s3.keys()
    const res = await upload(Buffer.concat([pngBytes, Buffer.alloc(4096)]), 'big.png', 'image/png')
    t.equal(res.statusCode, 413)
    t.match(res.json().message, /limit/)
    t.same(await s3.keys(), before)
  })

  t.test('a file that is not an image answers 415 and stores nothing', async (t) => {
    const before = await s3.keys()
    const res = await upload(Buffer.from('plain text, not a picture'.repeat(10)), 'evil.png', 'image/png')
    t.equal(res.statusCode, 415)
    t.same(await s3.keys(), before)
  })

  t.test('the app serves no /uploads/ of its own', async (t) => {
    t.equal(app.hasRoute({ method: 'GET', url: '/uploads/*' }), false)
    t.equal((await app.inject({ url: `/uploads/${(await s3.keys())[0]}` })).statusCode, 404)
  })
})

t.test('S3_PUBLIC_URL makes img_url point at the CDN in front of the bucket', async (t) => {
  const s3 = await startS3Server(t)
  const app = await buildTestApp(t, { ...s3.env, S3_PUBLIC_URL: 'https://cdn.miniter.example/pics/' })
  const bob = await signUpAndLogin(app, 'Bob')
  const form = multipart('profile_pic', 'me.png', 'image/png', pngBytes)
  const res = await app.inject({
    method: 'POST',
    url: '/profile-picture',
    headers: { ...form.headers, authorization: bob.token },
    payload: form.payload
  })
  t.equal(res.statusCode, 200)
  const { img_url } = res.json()
  t.match(img_url, /^https:\/\/cdn\.miniter\.example\/pics\/profile\/[0-9a-f-]+\.png$/)
  t.same(await s3.keys(), [new URL(img_url).pathname.slice('/pics/'.length)])
})
