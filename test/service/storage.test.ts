// One behavioural suite run against every Storage: LocalStorage on a temp directory and S3Storage on
// a loopback s3rver. A storage is only swappable if both pass the same tests.
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import t from 'tap'
import { PayloadTooLarge } from '../../service/errors.ts'
import { LocalStorage } from '../../service/storage/local.ts'
import { S3Storage } from '../../service/storage/s3.ts'
import type { Storage } from '../../service/storage/storage.ts'
import { testPublicUrl, testUploadDir } from '../helper.ts'
import { pngBytes } from '../../scripts/support/uploads.ts'
import { startS3Server } from '../../scripts/support/s3-server.ts'

interface Teardown {
  teardown(fn: () => unknown): void
}

interface Backend {
  storage: Storage
  /** The stored bytes as a reader gets them, or null when there is nothing under `key`. */
  read(key: string): Promise<Buffer | null>
  /** Everything stored, partial writes included, sorted. */
  keys(): Promise<string[]>
  /** Storages of the same kind whose store cannot work, each with the error it should reject with. */
  failing(): Promise<{ name: string; storage: Storage; error: object }[]>
}

const MiB = 1024 * 1024

function streamOf(...chunks: Buffer[]): Readable {
  return Readable.from(chunks)
}

/** Yields `bytes` bytes in 64 KiB chunks, then fails with `error`, as the upload size cap does. */
function failingAfter(bytes: number, error: Error): Readable {
  return Readable.from(
    (async function* () {
      for (let sent = 0; sent < bytes; sent += 64 * 1024) yield Buffer.alloc(Math.min(64 * 1024, bytes - sent), 7)
      throw error
    })()
  )
}

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function localBackend(t: Teardown): Promise<Backend> {
  const root = await testUploadDir(t)
  return {
    storage: new LocalStorage(root, testPublicUrl),
    async read(key) {
      try {
        return await readFile(join(root, key))
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT') return null
        throw error
      }
    },
    async keys() {
      return (await readdir(root, { recursive: true })).filter((entry) => entry.includes('.')).sort()
    },
    async failing() {
      // A regular file where the storage expects its directory: nothing can be written below it.
      const notADirectory = join(await testUploadDir(t), 'file')
      await writeFile(notADirectory, 'x')
      return [
        {
          name: 'root is not a directory',
          storage: new LocalStorage(notADirectory, testPublicUrl),
          error: { code: 'ENOTDIR' }
        }
      ]
    }
  }
}

async function s3Backend(t: Teardown): Promise<Backend> {
  const s3 = await startS3Server(t)
  const storage = new S3Storage(s3.settings)
  return {
    storage,
    async read(key) {
      const response = await fetch(storage.url(key))
      if (response.status === 404) return null
      if (!response.ok) throw new Error(`GET ${storage.url(key)} answered ${response.status}`)
      return Buffer.from(await response.arrayBuffer())
    },
    keys: () => s3.keys(),
    async failing() {
      return [
        {
          name: 'missing bucket',
          storage: new S3Storage({ ...s3.settings, bucket: 'no-such-bucket' }),
          error: { name: 'NoSuchBucket' }
        },
        {
          name: 'nothing listening at the endpoint',
          storage: new S3Storage({ ...s3.settings, endpoint: `http://127.0.0.1:${await closedPort()}` }),
          error: { code: 'ECONNREFUSED' }
        }
      ]
    }
  }
}

const backends: Record<string, (t: Teardown) => Promise<Backend>> = {
  LocalStorage: localBackend,
  S3Storage: s3Backend
}

for (const [name, makeBackend] of Object.entries(backends)) {
  t.test(name, async (t) => {
    const backend = await makeBackend(t)
    const { storage } = backend

    t.test('put stores the streamed bytes and reports their size', async (t) => {
      const bytes = Buffer.concat([pngBytes, Buffer.alloc(100_000, 1), Buffer.from('end')])
      const stored = await storage.put(
        'profile/put-1.png',
        streamOf(pngBytes, Buffer.alloc(100_000, 1), Buffer.from('end')),
        'image/png'
      )
      t.same(stored, { key: 'profile/put-1.png', size: bytes.length })
      t.same(await backend.read('profile/put-1.png'), bytes)
      t.ok(storage.url('profile/put-1.png').endsWith('/profile/put-1.png'))
    })

    t.test('an empty body is stored as an empty object', async (t) => {
      t.same(await storage.put('profile/empty.png', streamOf(), 'image/png'), { key: 'profile/empty.png', size: 0 })
      t.same(await backend.read('profile/empty.png'), Buffer.alloc(0))
    })

    t.test('delete removes the object and leaves the others', async (t) => {
      await storage.put('profile/delete-1.png', streamOf(pngBytes), 'image/png')
      await storage.put('profile/delete-2.png', streamOf(pngBytes), 'image/png')
      await storage.delete('profile/delete-1.png')
      t.equal(await backend.read('profile/delete-1.png'), null)
      t.same(await backend.read('profile/delete-2.png'), pngBytes)
    })

    t.test('deleting a missing key is not an error', async (t) => {
      const before = await backend.keys()
      t.equal(await storage.delete('profile/never-stored.png'), undefined)
      t.same(await backend.keys(), before)
    })

    // 11 MiB is two 5 MiB parts in: S3Storage has a multipart upload under way when the body fails.
    for (const bytes of [1024, 11 * MiB]) {
      t.test(`a body that fails after ${bytes} bytes rejects with its own error and stores nothing`, async (t) => {
        const before = await backend.keys()
        const tooLarge = new PayloadTooLarge('File is larger than the limit')
        const rejection = await storage.put('profile/failing.png', failingAfter(bytes, tooLarge), 'image/png').then(
          () => undefined,
          (error: unknown) => error
        )
        t.equal(rejection, tooLarge, 'the very error the body failed with')
        t.equal(await backend.read('profile/failing.png'), null)
        t.same(await backend.keys(), before)
      })
    }

    t.test('an unsafe key is refused before anything is stored', async (t) => {
      const before = await backend.keys()
      for (const key of [
        '../escape.png',
        '/absolute.png',
        'profile/../../escape.png',
        'Profile/Upper.PNG',
        'no-extension',
        ''
      ]) {
        await t.rejects(
          storage.put(key, streamOf(pngBytes), 'image/png'),
          /Unsafe storage key/,
          `put ${JSON.stringify(key)}`
        )
        await t.rejects(storage.delete(key), /Unsafe storage key/, `delete ${JSON.stringify(key)}`)
      }
      t.same(await backend.keys(), before)
    })

    t.test('a store that cannot work rejects', async (t) => {
      for (const failing of await backend.failing()) {
        const rejection = await failing.storage.put('profile/x.png', streamOf(pngBytes), 'image/png').then(
          () => undefined,
          (error: unknown) => error
        )
        t.match(rejection, failing.error, failing.name)
      }
    })
  })
}

t.test('S3Storage stores the content type and an immutable Cache-Control', async (t) => {
  const s3 = await startS3Server(t)
  const storage = new S3Storage(s3.settings)
  await storage.put('profile/headers.gif', streamOf(pngBytes), 'image/gif')
  const response = await fetch(storage.url('profile/headers.gif'))
  t.equal(response.status, 200)
  t.equal(response.headers.get('content-type'), 'image/gif')
  t.match(response.headers.get('cache-control'), /max-age=31536000/)
  t.match(response.headers.get('cache-control'), /immutable/)
})

t.test('LocalStorage.url is the base it was given, /uploads/ and the key', async (t) => {
  const root = await testUploadDir(t)
  t.equal(new LocalStorage(root, testPublicUrl).url('profile/a.png'), `${testPublicUrl}/uploads/profile/a.png`)
  t.equal(
    new LocalStorage(root, 'https://miniter.example/api').url('media/b-1.m4a'),
    'https://miniter.example/api/uploads/media/b-1.m4a',
    'a base with a path keeps it'
  )
})

t.test('S3Storage.url', async (t) => {
  const base = { bucket: 'pics', region: 'eu-west-3', forcePathStyle: false }
  const url = (settings: object) => new S3Storage({ ...base, ...settings }).url('profile/a.png')
  t.equal(url({}), 'https://pics.s3.eu-west-3.amazonaws.com/profile/a.png', 'AWS virtual-host style')
  t.equal(url({ forcePathStyle: true }), 'https://s3.eu-west-3.amazonaws.com/pics/profile/a.png', 'AWS path style')
  t.equal(url({ endpoint: 'http://127.0.0.1:9000', forcePathStyle: true }), 'http://127.0.0.1:9000/pics/profile/a.png')
  t.equal(url({ endpoint: 'https://storage.example' }), 'https://pics.storage.example/profile/a.png')
  t.equal(
    url({ endpoint: 'http://127.0.0.1:9000', publicUrl: 'https://cdn.example/media' }),
    'https://cdn.example/media/profile/a.png',
    'S3_PUBLIC_URL wins'
  )
})
