// A real S3-protocol server (s3rver) on loopback for tests and the scale-out script: one bucket, files in a temp directory.
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'
import type { S3Settings } from '../../service/storage/s3.ts'

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface TestS3 {
  endpoint: string
  bucket: string
  /** Settings for an S3Storage on this server's bucket (path-style, as s3rver serves it). */
  settings: S3Settings
  /** The environment that makes the app store uploads in this server's bucket. */
  env: Record<string, string>
  /** Every key in the bucket, sorted. */
  keys(): Promise<string[]>
}

// s3rver accepts exactly this key pair.
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

/** Starts s3rver on a free loopback port with one empty bucket; stopped and removed at teardown. */
export async function startS3Server(t: Teardown, bucket = 'miniter-test'): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), 'miniter-s3-'))
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }]
  })
  const { port } = await server.run()
  const endpoint = `http://127.0.0.1:${port}`
  const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials })
  t.teardown(async () => {
    client.destroy()
    await server.close()
    await rm(directory, { recursive: true, force: true })
  })
  return {
    endpoint,
    bucket,
    settings: { bucket, region: 'us-east-1', endpoint, forcePathStyle: true, ...credentials },
    env: {
      STORAGE: 's3',
      S3_BUCKET: bucket,
      S3_ENDPOINT: endpoint,
      S3_ACCESS_KEY_ID: credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true'
    },
    async keys() {
      const listing = await client.send(new ListObjectsV2Command({ Bucket: bucket }))
      return (listing.Contents ?? []).map((object) => object.Key!).sort()
    }
  }
}
