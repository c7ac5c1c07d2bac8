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

t.test('PUBLIC_URL is not needed outside production, nor with S3', async (t) => {
  t.equal(loadConfig({ NODE_ENV: 'development' }).publicUrl, 'http://localhost:5000', 'outside production: a default')
  const s3 = loadConfig({ NODE_ENV: 'production', JWT_SECRET: secret, STORAGE: 's3', S3_BUCKET: 'pics' })
  t.equal(s3.storage, 's3', 'with S3, files have the bucket’s own absolute URLs')
})

t.test('without PUBLIC_URL, file URLs point where this machine reaches the server', async (t) => {
  const base = (env: Record<string, string>) => loadConfig(env).publicUrl
  t.equal(base({}), 'http://localhost:5000', 'HOST=0.0.0.0 (every interface) and PORT=5000 by default')
  t.equal(base({ PORT: '8080' }), 'http://localhost:8080')
  t.equal(base({ HOST: '::' }), 'http://localhost:5000', 'every IPv6 interface')
  t.equal(base({ HOST: '127.0.0.1', PORT: '3000' }), 'http://127.0.0.1:3000', 'a single address as it is')
  t.equal(base({ HOST: '192.168.1.20' }), 'http://192.168.1.20:5000')
  t.equal(base({ HOST: '::1' }), 'http://[::1]:5000', 'IPv6 in brackets')
  t.equal(base({ HOST: 'dev.local' }), 'http://dev.local:5000')
  t.equal(
    base({ HOST: '127.0.0.1', PUBLIC_URL: 'https://miniter.example/' }),
    'https://miniter.example',
    'PUBLIC_URL wins'
  )
})
