// What loadConfig requires before a production server may start.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { ConfigError, loadConfig } from '../config.ts'

const secret = randomBytes(32).toString('hex')

t.test('production refuses to start without JWT_SECRET', async (t) => {
  t.throws(
    () => loadConfig({ NODE_ENV: 'production', PUBLIC_URL: 'https://miniter.example' }),
    new ConfigError('JWT_SECRET must be set when NODE_ENV=production (at least 32 characters).')
  )
})

t.test('production with local storage refuses to start without PUBLIC_URL', async (t) => {
  t.throws(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: secret }), {
    constructor: ConfigError,
    message: /^PUBLIC_URL must be set when NODE_ENV=production/
  })
  const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: secret, PUBLIC_URL: 'https://miniter.example/' })
  t.equal(config.publicUrl, 'https://miniter.example', 'set, it is the origin of file URLs (trailing slash dropped)')
})

t.test('PUBLIC_URL is not needed where no URL is built from it', async (t) => {
  t.equal(loadConfig({ NODE_ENV: 'development' }).publicUrl, undefined, 'outside production: the request origin')
  const s3 = loadConfig({ NODE_ENV: 'production', JWT_SECRET: secret, STORAGE: 's3', S3_BUCKET: 'pics' })
  t.equal(s3.publicUrl, undefined, 'with S3, files have the bucket’s own absolute URLs')
})
