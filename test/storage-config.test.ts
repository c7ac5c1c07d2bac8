// The STORAGE and S3_* settings, and the media lifecycle ones, as loadConfig parses and checks them.
import t from 'tap'
import { ConfigError, loadConfig } from '../config.ts'

t.test('storage is local disk unless STORAGE says otherwise', async (t) => {
  const config = loadConfig({})
  t.equal(config.storage, 'local')
  t.equal(config.s3Bucket, undefined)
  t.equal(config.s3Region, 'us-east-1')
  t.equal(config.s3ForcePathStyle, false)
})

t.test('STORAGE=s3 reads the S3 settings', async (t) => {
  const config = loadConfig({
    STORAGE: 's3',
    S3_BUCKET: 'pics',
    S3_REGION: 'eu-west-3',
    S3_ENDPOINT: 'http://127.0.0.1:9000/',
    S3_ACCESS_KEY_ID: 'key-id',
    S3_SECRET_ACCESS_KEY: 'secret',
    S3_FORCE_PATH_STYLE: 'true',
    S3_PUBLIC_URL: 'https://cdn.example/pics/'
  })
  t.match(config, {
    storage: 's3',
    s3Bucket: 'pics',
    s3Region: 'eu-west-3',
    s3Endpoint: 'http://127.0.0.1:9000',
    s3AccessKeyId: 'key-id',
    s3SecretAccessKey: 'secret',
    s3ForcePathStyle: true,
    s3PublicUrl: 'https://cdn.example/pics'
  })
})

t.test('STORAGE=s3 without S3_BUCKET stops with a message naming it', async (t) => {
  t.throws(() => loadConfig({ STORAGE: 's3' }), new ConfigError('S3_BUCKET must be set when STORAGE=s3.'))
})

t.test('an access key id without its secret (or the reverse) is refused', async (t) => {
  const together = { message: /S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together/ }
  t.throws(() => loadConfig({ STORAGE: 's3', S3_BUCKET: 'pics', S3_ACCESS_KEY_ID: 'key-id' }), together)
  t.throws(() => loadConfig({ STORAGE: 's3', S3_BUCKET: 'pics', S3_SECRET_ACCESS_KEY: 'secret' }), together)
})

t.test('an unknown STORAGE or a malformed S3 URL is refused by name', async (t) => {
  t.throws(() => loadConfig({ STORAGE: 'ftp' }), { message: /STORAGE/ })
  t.throws(() => loadConfig({ STORAGE: 's3', S3_BUCKET: 'pics', S3_ENDPOINT: 'not a url' }), { message: /S3_ENDPOINT/ })
  t.throws(() => loadConfig({ S3_FORCE_PATH_STYLE: 'maybe' }), { message: /S3_FORCE_PATH_STYLE/ })
})

t.test('media lifecycle settings: a 1 GiB quota, a day for unattached uploads, purge every 10 minutes', async (t) => {
  t.match(loadConfig({}), {
    mediaQuotaBytes: 1024 ** 3,
    mediaUnattachedTtlMs: 86_400_000,
    maxImagePixels: 50_000_000,
    purgeIntervalMs: 600_000
  })
  t.match(
    loadConfig({ MEDIA_QUOTA_BYTES: '0', MEDIA_UNATTACHED_TTL: '0', PURGE_INTERVAL: '0', MAX_IMAGE_PIXELS: '1000' }),
    {
      mediaQuotaBytes: 0,
      mediaUnattachedTtlMs: 0,
      maxImagePixels: 1000,
      purgeIntervalMs: 0
    }
  )
  t.match(loadConfig({ MEDIA_UNATTACHED_TTL: '7d', PURGE_INTERVAL: '30s' }), {
    mediaUnattachedTtlMs: 604_800_000,
    purgeIntervalMs: 30_000
  })
  t.throws(() => loadConfig({ MEDIA_UNATTACHED_TTL: 'a week' }), { message: /MEDIA_UNATTACHED_TTL/ })
  t.throws(() => loadConfig({ MEDIA_QUOTA_BYTES: '-1' }), { message: /MEDIA_QUOTA_BYTES/ })
  t.throws(() => loadConfig({ MAX_IMAGE_PIXELS: '0' }), { message: /MAX_IMAGE_PIXELS/ })
})
