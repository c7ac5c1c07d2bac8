// Uploaded files in an S3 bucket (AWS or any S3-compatible server), so several instances share them.
// The bucket (or a CDN in front of it, S3_PUBLIC_URL) serves the files; url() points there.
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { Transform, type Readable } from 'node:stream'
import { assertSafeKey, isExternalUrl, type Storage, type StoredObject } from './storage.ts'

export interface S3Settings {
  bucket: string
  region: string
  /** Custom endpoint for S3-compatible servers; AWS when absent. */
  endpoint?: string
  /** Both or neither; without them the AWS default credential chain applies. */
  accessKeyId?: string
  secretAccessKey?: string
  forcePathStyle: boolean
  /** Base URL the objects are served from (e.g. a CDN); derived from endpoint and bucket when absent. */
  publicUrl?: string
}

// Keys are generated names that are never rewritten, so every cache may keep an object for good.
const cacheControl = 'public, max-age=31536000, immutable'

export class S3Storage implements Storage {
  private readonly client: S3Client
  private readonly baseUrl: string

  constructor(private readonly settings: S3Settings) {
    const { accessKeyId, secretAccessKey } = settings
    this.client = new S3Client({
      region: settings.region,
      endpoint: settings.endpoint,
      forcePathStyle: settings.forcePathStyle,
      credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined
    })
    this.baseUrl = settings.publicUrl ?? objectBaseUrl(settings)
  }

  async put(key: string, body: Readable, contentType: string): Promise<StoredObject> {
    assertSafeKey(key)
    let size = 0
    const counting = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length
        callback(null, chunk)
      }
    })
    // pipe() rather than pipeline(): when the upload stops reading, pipeline would destroy `body` with a
    // premature-close error, and this must tell the body's own failure apart from the store's.
    let bodyError: unknown
    body.once('error', (error) => {
      bodyError = error
      counting.destroy(error)
    })
    body.pipe(counting)
    // Streams in parts of at most 5 MiB; on any failure Upload aborts the multipart upload it started.
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.settings.bucket,
        Key: key,
        Body: counting,
        ContentType: contentType,
        CacheControl: cacheControl
      }
    })
    try {
      await upload.done()
    } catch (error) {
      body.destroy()
      // The body's error (e.g. PayloadTooLarge from the size cap) is the cause, even if the abort failed too.
      throw bodyError ?? error
    }
    return { key, size }
  }

  async delete(key: string): Promise<void> {
    if (isExternalUrl(key)) return
    assertSafeKey(key)
    await this.client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: key }))
  }

  url(key: string): string {
    // Safe keys need no URL encoding.
    return isExternalUrl(key) ? key : `${this.baseUrl}/${key}`
  }
}

function objectBaseUrl({ bucket, region, endpoint, forcePathStyle }: S3Settings): string {
  const origin = new URL(endpoint ?? `https://s3.${region}.amazonaws.com`)
  if (forcePathStyle) return `${origin.protocol}//${origin.host}/${bucket}`
  return `${origin.protocol}//${bucket}.${origin.host}`
}
