// Typed settings, parsed once from the environment with zod. Nothing secret has a default.
import { randomBytes } from 'node:crypto'
import { isIP } from 'node:net'
import { getHeapStatistics } from 'node:v8'
import { z } from 'zod'

const MiB = 1024 * 1024

const boolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes')

/** A browser sends Origin as scheme://host[:port]; only entries of that form can ever match. */
function parseCorsOrigins(value: string, ctx: z.RefinementCtx): '*' | string[] {
  if (value.trim() === '*') return '*'
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
  const origins: string[] = []
  for (const entry of entries) {
    const url = URL.canParse(entry) ? new URL(entry) : undefined
    const bare = url?.pathname === '/' && !url.search && !url.hash && !url.username
    if (url && bare && /^https?:$/.test(url.protocol)) origins.push(url.origin)
    else ctx.addIssue({ code: 'custom', message: `"${entry}" is not an origin like https://app.example.com` })
  }
  if (entries.length === 0) ctx.addIssue({ code: 'custom', message: 'must be * or a comma-separated list of origins' })
  return origins
}

// Names proxy-addr (Fastify's trustProxy) knows for whole private ranges.
const proxyRangeNames = new Set(['loopback', 'linklocal', 'uniquelocal'])

/**
 * The proxies whose X-Forwarded-* headers are believed, as addresses and CIDRs. Trusting every hop (`true`)
 * let a client pick its own address: the left-most X-Forwarded-For entry is the client's own text.
 */
function parseTrustProxy(value: string, ctx: z.RefinementCtx): false | string[] {
  const trimmed = value.trim()
  if (trimmed === '' || trimmed === 'false' || trimmed === '0') return false
  const refuse = (what: string) =>
    ctx.addIssue({
      code: 'custom',
      message: `${what}; name the proxies instead, as addresses or CIDRs (e.g. 10.0.0.0/8,127.0.0.1)`
    })
  if (/^(true|yes)$/i.test(trimmed)) {
    refuse('true trusted every hop, so any client could choose its own address with X-Forwarded-For')
    return false
  }
  // Fastify 5 ignores a number too (it trusts nothing then), for the same reason.
  if (/^\d+$/.test(trimmed)) {
    refuse('a hop count cannot tell a proxy from a client that reaches the server directly')
    return false
  }
  const entries = trimmed.split(',').map((entry) => entry.trim())
  for (const entry of entries) {
    if (/\/0+$/.test(entry)) {
      ctx.addIssue({ code: 'custom', message: `"${entry}" would trust every address, as true did` })
    } else if (!isProxyAddress(entry)) {
      ctx.addIssue({
        code: 'custom',
        message: `"${entry}" is not an address, a CIDR (e.g. 10.0.0.0/8, fd00::/8), loopback, linklocal or uniquelocal`
      })
    }
  }
  return entries
}

function isProxyAddress(entry: string): boolean {
  if (proxyRangeNames.has(entry)) return true
  const [address, prefix, ...rest] = entry.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  return /^\d{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= (family === 4 ? 32 : 128)
}

const baseUrl = z.url().transform((url) => url.replace(/\/+$/, ''))

const duration = z.string().regex(/^\d+\s*[smhd]?$/, 'must be seconds or a number with s, m, h or d (e.g. 15m)')
const count = z.coerce.number().int().min(0)
const milliseconds = z.coerce.number().int().min(0)

// Security and operations (README "Security and operations"): rate limits, timeouts, load shedding.
// For each limit and threshold, 0 switches it off.
const operationsEnvSchema = z.object({
  RATE_LIMIT_MAX: count.default(300),
  RATE_LIMIT_WINDOW: duration.default('1m'),
  // Unset: ten times RATE_LIMIT_MAX (a page of avatars from one NAT must not use up the API's budget).
  UPLOADS_RATE_LIMIT_MAX: count.optional(),
  LOGIN_RATE_LIMIT_PER_IP: count.default(30),
  // Per email from one address (its name predates the email-wide ceiling below).
  LOGIN_RATE_LIMIT_PER_EMAIL: count.default(10),
  LOGIN_RATE_LIMIT_PER_EMAIL_TOTAL: count.default(100),
  LOGIN_RATE_LIMIT_WINDOW: duration.default('15m'),
  SIGNUP_RATE_LIMIT_PER_IP: count.default(20),
  SIGNUP_RATE_LIMIT_TAKEN_PER_IP: count.default(5),
  SIGNUP_RATE_LIMIT_WINDOW: duration.default('1h'),
  HSTS_MAX_AGE: count.default(365 * 86400),
  CONNECTION_TIMEOUT_MS: milliseconds.default(60_000),
  REQUEST_TIMEOUT_MS: milliseconds.default(30_000),
  KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(1).default(72_000),
  HANDLER_TIMEOUT_MS: milliseconds.default(30_000),
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(1).default(5_000),
  DATABASE_QUERY_TIMEOUT_MS: milliseconds.default(10_000),
  DATABASE_QUEUE_LIMIT: count.default(200),
  MAX_EVENT_LOOP_DELAY_MS: milliseconds.default(1_000),
  // V8 degrades long before the hard limit: shed at 90% of it.
  MAX_HEAP_USED_BYTES: count.default(Math.floor(getHeapStatistics().heap_size_limit * 0.9)),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(1).default(10_000),
  READY_CACHE_MS: milliseconds.default(1_000)
})

export interface OperationsConfig {
  /** Per client IP, for every route but the health checks; `uploadsMax` for files under /uploads/ instead. */
  rateLimit: { max: number; windowMs: number; uploadsMax: number }
  /** Per client IP; per email from one IP; per email from all IPs together. */
  loginRateLimit: { perIp: number; perEmailPerIp: number; perEmail: number; windowMs: number }
  /** Per client IP: every sign-up attempt, and answers that an email is taken. */
  signUpRateLimit: { perIp: number; takenPerIp: number; windowMs: number }
  hstsMaxAge: number
  timeouts: { connectionMs: number; requestMs: number; keepAliveMs: number; handlerMs: number }
  databasePool: { connectTimeoutMs: number; queryTimeoutMs: number; queueLimit: number }
  underPressure: { maxEventLoopDelayMs: number; maxHeapUsedBytes: number }
  shutdownGraceMs: number
  /** How long a /health/ready answer is reused; 0: every poll asks the database. */
  readyCacheMs: number
}

function operationsConfig(e: z.infer<typeof operationsEnvSchema>): OperationsConfig {
  return {
    rateLimit: {
      max: e.RATE_LIMIT_MAX,
      windowMs: seconds(e.RATE_LIMIT_WINDOW) * 1000,
      uploadsMax: e.UPLOADS_RATE_LIMIT_MAX ?? 10 * e.RATE_LIMIT_MAX
    },
    loginRateLimit: {
      perIp: e.LOGIN_RATE_LIMIT_PER_IP,
      perEmailPerIp: e.LOGIN_RATE_LIMIT_PER_EMAIL,
      perEmail: e.LOGIN_RATE_LIMIT_PER_EMAIL_TOTAL,
      windowMs: seconds(e.LOGIN_RATE_LIMIT_WINDOW) * 1000
    },
    signUpRateLimit: {
      perIp: e.SIGNUP_RATE_LIMIT_PER_IP,
      takenPerIp: e.SIGNUP_RATE_LIMIT_TAKEN_PER_IP,
      windowMs: seconds(e.SIGNUP_RATE_LIMIT_WINDOW) * 1000
    },
    hstsMaxAge: e.HSTS_MAX_AGE,
    timeouts: {
      connectionMs: e.CONNECTION_TIMEOUT_MS,
      requestMs: e.REQUEST_TIMEOUT_MS,
      keepAliveMs: e.KEEP_ALIVE_TIMEOUT_MS,
      handlerMs: e.HANDLER_TIMEOUT_MS
    },
    databasePool: {
      connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
      queryTimeoutMs: e.DATABASE_QUERY_TIMEOUT_MS,
      queueLimit: e.DATABASE_QUEUE_LIMIT
    },
    underPressure: { maxEventLoopDelayMs: e.MAX_EVENT_LOOP_DELAY_MS, maxHeapUsedBytes: e.MAX_HEAP_USED_BYTES },
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    readyCacheMs: e.READY_CACHE_MS
  }
}

const envSchema = z.object({
  ...operationsEnvSchema.shape,
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(5000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .regex(/^mysql:\/\//, 'must look like mysql://user:pass@host:port/db')
    .optional(),
  DATABASE_READ_URL: z
    .string()
    .regex(/^mysql:\/\//, 'must look like mysql://user:pass@host:port/db')
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must look like redis://[:password@]host:port[/db]')
    .optional(),
  REDIS_KEY_PREFIX: z.string().max(100).default('miniter:'),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_EXPIRES_IN: z
    .string()
    .regex(/^\d+\s*[smhd]?$/, 'must be seconds or a number with s, m, h or d (e.g. 1d)')
    .default('1d'),
  BCRYPT_ROUNDS: z.coerce.number().int().min(4).max(15).default(10),
  UPLOAD_DIR: z.string().min(1).default('./uploads'),
  PUBLIC_URL: z
    .url()
    .transform((url) => url.replace(/\/+$/, ''))
    .optional(),
  MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(5 * MiB),
  STORAGE: z.enum(['local', 's3']).default('local'),
  S3_BUCKET: z.string().min(1).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ENDPOINT: baseUrl.optional(),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: boolean.default(false),
  S3_PUBLIC_URL: baseUrl.optional(),
  MAX_MEDIA_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(20 * MiB),
  MEDIA_GRACE_DAYS: z.coerce.number().min(0).max(3650).default(0),
  ACCOUNT_GRACE_DAYS: z.coerce.number().min(0).max(3650).default(0),
  MEDIA_QUOTA_BYTES: count.default(1024 * MiB),
  MEDIA_UNATTACHED_TTL: duration.default('24h'),
  MAX_IMAGE_PIXELS: z.coerce.number().int().positive().default(50_000_000),
  PURGE_INTERVAL: duration.default('10m'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: z.string().transform(parseTrustProxy).default(false),
  FANOUT_MAX_FOLLOWERS: z.coerce.number().int().min(0).default(25_000),
  TIMELINE_BACKFILL: z.coerce.number().int().min(1).max(100_000).default(800),
  READ_CACHE_TTL_MS: z.coerce.number().int().min(0).default(10_000),
  FANOUT_WORKERS: z.coerce.number().int().min(0).max(64).default(1),
  FANOUT_CHUNK_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
  FANOUT_LEASE_MS: z.coerce.number().int().min(100).default(15_000),
  FANOUT_POLL_MS: z.coerce.number().int().min(1).default(200),
  FANOUT_LAG_WARN_MS: z.coerce.number().int().min(0).default(10_000),
  STREAM_MAX_PER_USER: z.coerce.number().int().min(1).max(100).default(5),
  STREAM_HEARTBEAT: duration.default('15s'),
  // At most a page (service/limits.ts maxPageSize).
  STREAM_RESUME_LIMIT: z.coerce.number().int().min(1).max(100).default(100),
  STREAM_MAX_BUFFER_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  CORS_ORIGINS: z.string().transform(parseCorsOrigins).optional()
})

export interface Config extends OperationsConfig {
  env: 'development' | 'production' | 'test'
  port: number
  host: string
  /** Absent until setup.ts (or the test helper) has resolved which server to use. */
  databaseUrl?: string
  /** A read replica for timeline, profile and follow-list reads; the primary when absent. */
  databaseReadUrl?: string
  /** GET /metrics with this bearer token, and/or a plain /metrics on 127.0.0.1:port; neither: no metrics. */
  metrics: { token?: string; port?: number }
  /** Shared state across instances (rate limits); without it each instance keeps its own. */
  redis?: { url: string; keyPrefix: string }
  jwtSecret: string
  /** Token lifetime in seconds. */
  jwtExpiresIn: number
  bcryptRounds: number
  uploadDir: string
  /**
   * Base URL of the files local storage serves at /uploads/: PUBLIC_URL, else (never in production) where
   * this machine reaches the server (developmentPublicUrl). Unused with S3, whose objects have their own URLs.
   */
  publicUrl: string
  maxUploadBytes: number
  /** Where uploads go: `local` disk (one instance) or an `s3` bucket (shared by all instances). */
  storage: 'local' | 's3'
  /** Always set when storage is `s3`. */
  s3Bucket?: string
  s3Region: string
  s3Endpoint?: string
  s3AccessKeyId?: string
  s3SecretAccessKey?: string
  s3ForcePathStyle: boolean
  s3PublicUrl?: string
  maxMediaBytes: number
  /** 0: deleting media is final at once; otherwise it can be restored for this many days. */
  mediaGraceDays: number
  /** 0: a deleted account is erased at once; otherwise logging in within this many days restores it. */
  accountGraceDays: number
  /** Bytes each user's media may hold; 0: no quota. */
  mediaQuotaBytes: number
  /** Media on no tweet this long after upload are purged; 0: kept until deleted. */
  mediaUnattachedTtlMs: number
  /** Larger images (width × height × frames) are refused before they are decoded. */
  maxImagePixels: number
  /** How often a serving process purges media and stray objects; 0: only when it starts. */
  purgeIntervalMs: number
  logLevel: string
  /** Proxies (addresses, CIDRs, proxy-addr's range names) whose X-Forwarded-* headers are believed. */
  trustProxy: false | string[]
  /** Accounts with more followers are read by their followers instead of copied into each timeline. */
  fanoutMaxFollowers: number
  /** How many of a followee's newest tweets a new follow copies into the follower's timeline. */
  timelineBackfill: number
  /** How long timeline tweets and their authors are shown from memory before being read again; 0: always read. */
  readCacheTtlMs: number
  /** The fan-out workers (docs/operations.md "Sizing fan-out workers"). */
  fanout: {
    /** Worker loops in this process; 0: none (another process runs `npm run worker`). */
    workers: number
    /** Followers copied per transaction. */
    chunkSize: number
    /** How long a claimed outbox row stays with its worker without progress. */
    leaseMs: number
    /** Idle loops look at the outbox this often (posts in the same process wake them at once). */
    pollMs: number
    /** The backlog is logged as a warning while its oldest row is older than this. */
    lagWarnMs: number
  }
  /** Live streams (GET /stream): README "Live stream". */
  stream: { maxPerUser: number; heartbeatMs: number; resumeLimit: number; maxBufferedBytes: number }
  /** Origins allowed cross-origin access from browsers: '*' for any, none when empty. */
  corsOrigins: '*' | string[]
}

export class ConfigError extends Error {}

/**
 * The base URL of file URLs without PUBLIC_URL: the address a browser on this machine reaches the server
 * at — HOST itself, or localhost when HOST is every interface. Resolved once at start, never from a
 * request's Host header (which any client sets).
 */
export function developmentPublicUrl(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' ? 'localhost' : isIP(host) === 6 ? `[${host}]` : host
  return `http://${name}:${port}`
}

const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

function seconds(duration: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(duration)!
  return Number(match[1]) * units[match[2] || 's']
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`)
  }
  const e = parsed.data
  if (e.NODE_ENV === 'production' && !e.JWT_SECRET) {
    throw new ConfigError('JWT_SECRET must be set when NODE_ENV=production (at least 32 characters).')
  }
  // Without it, file URLs would point at the development default (this machine), which no client of a
  // deployed server reaches. With S3 they are the bucket's (or S3_PUBLIC_URL's) own URLs and need no origin.
  if (e.NODE_ENV === 'production' && e.STORAGE === 'local' && !e.PUBLIC_URL) {
    throw new ConfigError(
      'PUBLIC_URL must be set when NODE_ENV=production (the origin clients reach the server at, e.g. https://miniter.example).'
    )
  }
  if (e.STORAGE === 's3' && !e.S3_BUCKET) {
    throw new ConfigError('S3_BUCKET must be set when STORAGE=s3.')
  }
  if (!e.S3_ACCESS_KEY_ID !== !e.S3_SECRET_ACCESS_KEY) {
    throw new ConfigError(
      'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together (or neither, for the AWS default credentials).'
    )
  }
  return {
    ...operationsConfig(e),
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databaseReadUrl: e.DATABASE_READ_URL,
    metrics: { token: e.METRICS_TOKEN, port: e.METRICS_PORT },
    redis: e.REDIS_URL ? { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX } : undefined,
    // Outside production a missing secret gets a random one: tokens then last until the process stops.
    jwtSecret: e.JWT_SECRET ?? randomBytes(32).toString('hex'),
    jwtExpiresIn: seconds(e.JWT_EXPIRES_IN),
    bcryptRounds: e.BCRYPT_ROUNDS,
    uploadDir: e.UPLOAD_DIR,
    publicUrl: e.PUBLIC_URL ?? developmentPublicUrl(e.HOST, e.PORT),
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    storage: e.STORAGE,
    s3Bucket: e.S3_BUCKET,
    s3Region: e.S3_REGION,
    s3Endpoint: e.S3_ENDPOINT,
    s3AccessKeyId: e.S3_ACCESS_KEY_ID,
    s3SecretAccessKey: e.S3_SECRET_ACCESS_KEY,
    s3ForcePathStyle: e.S3_FORCE_PATH_STYLE,
    s3PublicUrl: e.S3_PUBLIC_URL,
    maxMediaBytes: e.MAX_MEDIA_BYTES,
    mediaGraceDays: e.MEDIA_GRACE_DAYS,
    accountGraceDays: e.ACCOUNT_GRACE_DAYS,
    mediaQuotaBytes: e.MEDIA_QUOTA_BYTES,
    mediaUnattachedTtlMs: seconds(e.MEDIA_UNATTACHED_TTL) * 1000,
    maxImagePixels: e.MAX_IMAGE_PIXELS,
    purgeIntervalMs: seconds(e.PURGE_INTERVAL) * 1000,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    fanoutMaxFollowers: e.FANOUT_MAX_FOLLOWERS,
    timelineBackfill: e.TIMELINE_BACKFILL,
    readCacheTtlMs: e.READ_CACHE_TTL_MS,
    fanout: {
      workers: e.FANOUT_WORKERS,
      chunkSize: e.FANOUT_CHUNK_SIZE,
      leaseMs: e.FANOUT_LEASE_MS,
      pollMs: e.FANOUT_POLL_MS,
      lagWarnMs: e.FANOUT_LAG_WARN_MS
    },
    stream: {
      maxPerUser: e.STREAM_MAX_PER_USER,
      heartbeatMs: Math.max(1, seconds(e.STREAM_HEARTBEAT)) * 1000,
      resumeLimit: e.STREAM_RESUME_LIMIT,
      maxBufferedBytes: e.STREAM_MAX_BUFFER_BYTES
    },
    // A production API is closed to browsers on other origins until CORS_ORIGINS names them.
    corsOrigins: e.CORS_ORIGINS ?? (e.NODE_ENV === 'production' ? [] : '*')
  }
}
