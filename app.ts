// The composition root, wired by hand (the book's create_app): createCore(config) builds pools → DAOs →
// storage → services and the fan-out worker, without HTTP; buildApp(config) puts plugins and views on top.
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyJwt from '@fastify/jwt'
import fastifyMultipart from '@fastify/multipart'
import fastifyRateLimit from '@fastify/rate-limit'
import fastifyStatic from '@fastify/static'
import fastifyUnderPressure from '@fastify/under-pressure'
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Config } from './config.ts'
import { createPool, Transactor } from './model/database.ts'
import { FollowDao } from './model/follow-dao.ts'
import { FanoutDao } from './model/fanout-dao.ts'
import { MediaDao } from './model/media-dao.ts'
import { PendingObjectDao } from './model/pending-object-dao.ts'
import { TimelineDao } from './model/timeline-dao.ts'
import { TweetDao, tweetCacheEntries } from './model/tweet-dao.ts'
import { authorCacheEntries, UserDao } from './model/user-dao.ts'
import { TooManyRequests } from './service/errors.ts'
import { FanoutService } from './service/fanout-service.ts'
import { FanoutWorker, type WorkerLog } from './service/fanout-worker.ts'
import { FollowService } from './service/follow-service.ts'
import { HealthService } from './service/health-service.ts'
import { LocalStorage, localUploadsPrefix } from './service/storage/local.ts'
import { isStorageKey, type Storage } from './service/storage/storage.ts'
import { MediaService, type PurgeReport } from './service/media-service.ts'
import { PurgeSchedule } from './service/purge-schedule.ts'
import { TweetService } from './service/tweet-service.ts'
import { UserService } from './service/user-service.ts'
import { tokenFromHeader, trustedToken } from './view/auth.ts'
import { closeConnectionsLeftUnread } from './view/plugins/connection-close.ts'
import { registerCors } from './view/plugins/cors.ts'
import { docsPrefix, registerApiDocs } from './view/plugins/docs.ts'
import { registerErrorAnswers } from './view/plugins/errors.ts'
import { followRoutes } from './view/follow.ts'
import { mediaRoutes } from './view/media.ts'
import { healthRoutes } from './view/health.ts'
import { loginThrottle } from './view/plugins/login-throttle.ts'
import { pingRoutes } from './view/ping.ts'
import { registerSecurityHeaders } from './view/plugins/security-headers.ts'
import { signUpThrottle } from './view/plugins/sign-up-throttle.ts'
import { serializerCompiler } from './view/plugins/serializer.ts'
import { profilePictureRoutes } from './view/profile-picture.ts'
import { timelineRoutes } from './view/timeline.ts'
import { tweetRoutes } from './view/tweets.ts'
import { accountRoutes } from './view/account.ts'
import { userRoutes } from './view/users.ts'

export type AppConfig = Config & { databaseUrl: string }

declare module 'fastify' {
  interface FastifyInstance {
    /** One media purge now (tests; a listening server purges on its own schedule). */
    purgeMedia(): Promise<PurgeReport>
    /** Works the fan-out outbox until it is empty (tests, and operators' scripts). */
    drainFanout(): Promise<void>
  }
}

/**
 * Local disk serves a single instance; several instances must share an S3 bucket. The AWS SDK is loaded
 * only for S3: it adds about 150 ms and 20 MB to every process that never uses it.
 */
async function createStorage(config: Config): Promise<Storage> {
  if (config.storage === 's3') {
    const { S3Storage } = await import('./service/storage/s3.ts')
    return new S3Storage({
      // loadConfig refuses STORAGE=s3 without a bucket.
      bucket: config.s3Bucket!,
      region: config.s3Region,
      endpoint: config.s3Endpoint,
      accessKeyId: config.s3AccessKeyId,
      secretAccessKey: config.s3SecretAccessKey,
      forcePathStyle: config.s3ForcePathStyle,
      publicUrl: config.s3PublicUrl
    })
  }
  const uploadDir = resolve(config.uploadDir)
  mkdirSync(uploadDir, { recursive: true })
  return new LocalStorage(uploadDir)
}

/** Everything but HTTP: what `npm run worker` and `npm run purge` need, and what buildApp serves. */
export interface Core {
  storage: Storage
  transactor: Transactor
  userDao: UserDao
  pendingObjectDao: PendingObjectDao
  followService: FollowService
  tweetService: TweetService
  mediaService: MediaService
  healthService: HealthService
  fanoutService: FanoutService
  fanoutWorker: FanoutWorker
  /** Media purge at start and every PURGE_INTERVAL, started by a listening server. */
  purgeSchedule: PurgeSchedule
  /** Stops the purge schedule and the fan-out worker (each finishes the work in hand), then closes the pools. */
  close(): Promise<void>
}

export async function createCore(config: AppConfig, log: WorkerLog): Promise<Core> {
  const pool = createPool(config.databaseUrl, config.databasePool)
  const readPool = config.databaseReadUrl ? createPool(config.databaseReadUrl, config.databasePool) : pool

  const userDao = new UserDao(pool, readPool, { ttlMs: config.readCacheTtlMs, maxEntries: authorCacheEntries })
  const followDao = new FollowDao(readPool)
  const tweetDao = new TweetDao(pool, readPool, { ttlMs: config.readCacheTtlMs, maxEntries: tweetCacheEntries })
  const timelineDao = new TimelineDao(readPool)
  const transactor = new Transactor(pool)
  const mediaDao = new MediaDao(pool)
  const pendingObjectDao = new PendingObjectDao(pool)
  const fanoutDao = new FanoutDao(pool)

  const storage = await createStorage(config)

  const fanoutService = new FanoutService(transactor, fanoutDao, timelineDao, {
    chunkSize: config.fanout.chunkSize,
    leaseMs: config.fanout.leaseMs,
    claimBatch: fanoutClaimBatch
  })
  const fanoutWorker = new FanoutWorker(fanoutService, config.fanout, log)
  const followService = new FollowService(transactor, followDao, timelineDao, userDao, storage, {
    fanoutMaxFollowers: config.fanoutMaxFollowers,
    timelineBackfill: config.timelineBackfill
  })
  const mediaService = new MediaService(transactor, mediaDao, pendingObjectDao, storage, {
    maxMediaBytes: config.maxMediaBytes,
    graceDays: config.mediaGraceDays,
    quotaBytes: config.mediaQuotaBytes,
    unattachedTtlMs: config.mediaUnattachedTtlMs,
    maxImagePixels: config.maxImagePixels
  })
  const purgeSchedule = new PurgeSchedule(mediaService, config.purgeIntervalMs, log)
  const tweetService = new TweetService(
    transactor,
    tweetDao,
    timelineDao,
    userDao,
    followDao,
    storage,
    mediaService,
    fanoutWorker
  )
  return {
    storage,
    transactor,
    userDao,
    pendingObjectDao,
    followService,
    tweetService,
    mediaService,
    healthService: new HealthService(fanoutService, config.readyCacheMs),
    fanoutService,
    fanoutWorker,
    purgeSchedule,
    async close() {
      await Promise.all([purgeSchedule.stop(), fanoutWorker.stop()])
      await Promise.all([userDao.authorsSettled(), tweetDao.tweetsSettled()])
      await pool.end()
      if (readPool !== pool) await readPool.end()
    }
  }
}

/** Outbox rows a worker claims at once: enough to group many small fan-outs into one statement. */
const fanoutClaimBatch = 50

export async function buildApp(config: AppConfig): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: config.logLevel },
    trustProxy: config.trustProxy,
    // Bodies other than uploads are small JSON documents.
    bodyLimit: 64 * 1024,
    return503OnClosing: true,
    // Slow-client protection: a whole request must arrive within requestTimeout, a socket may idle
    // connectionTimeout; routes get their handler deadline below.
    connectionTimeout: config.timeouts.connectionMs,
    requestTimeout: config.timeouts.requestMs,
    keepAliveTimeout: config.timeouts.keepAliveMs,
    // Node enforces requestTimeout only with headersTimeout no longer than it, and checks only every
    // connectionsCheckingInterval (30 s by default, which would double a short timeout).
    http: config.timeouts.requestMs
      ? {
          headersTimeout: Math.min(60_000, config.timeouts.requestMs),
          connectionsCheckingInterval: Math.min(5_000, config.timeouts.requestMs)
        }
      : {}
  }).withTypeProvider<ZodTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  // The API speaks JSON (and multipart for uploads); a text/plain body is a client mistake, answered 415.
  app.removeContentTypeParser('text/plain')

  app.addHook('onRoute', (route) => {
    // Every route must answer within HANDLER_TIMEOUT_MS (503 otherwise), but for one that cannot wait
    // on anything (/ping) the deadline would be a timer and an AbortController per request for nothing.
    if (config.timeouts.handlerMs > 0 && route.config?.waitsOnNothing !== true) {
      route.handlerTimeout ??= config.timeouts.handlerMs
    }
  })
  // JSON answers for every error, 404, 405 and OPTIONS.
  registerErrorAnswers(app)

  // --- Security and overload protection (README "Security and operations") ---
  registerSecurityHeaders(app, config.hstsMaxAge, docsPrefix)
  closeConnectionsLeftUnread(app)
  await app.register(fastifyUnderPressure, {
    maxEventLoopDelay: config.underPressure.maxEventLoopDelayMs,
    maxHeapUsedBytes: config.underPressure.maxHeapUsedBytes
  })
  await app.register(fastifyRateLimit, {
    global: false,
    max: config.rateLimit.max,
    timeWindow: config.rateLimit.windowMs,
    allowList: (request) => request.routeOptions.config?.rateLimit === false,
    errorResponseBuilder: (_request, context) => {
      const seconds = Math.ceil(context.ttl / 1000)
      return new TooManyRequests(`Too many requests, retry in ${seconds} seconds`, { retry_after: seconds })
    }
  })
  // A global hook rather than the plugin's per-route one, so it also runs before authentication and for
  // unknown routes: a flood of bad tokens or 404s is throttled too. Stored files have a budget of their
  // own: a page of avatars is many requests, and must not use up the API's.
  const apiLimit = config.rateLimit.max > 0 ? app.rateLimit() : undefined
  const uploadsLimit =
    config.rateLimit.uploadsMax > 0 && config.storage === 'local'
      ? app.rateLimit({ max: config.rateLimit.uploadsMax, timeWindow: config.rateLimit.windowMs })
      : undefined
  if (apiLimit || uploadsLimit) {
    // Exempt routes (the health checks) skip the limiter entirely: they are the hottest, cheapest paths.
    app.addHook('onRequest', async function (request, reply) {
      if (request.routeOptions.config?.rateLimit === false) return
      const limit = request.routeOptions.url?.startsWith(localUploadsPrefix) ? uploadsLimit : apiLimit
      return limit?.call(this, request, reply)
    })
  }
  const throttleSignUp = signUpThrottle(app, config.signUpRateLimit)
  const throttleLogin = loginThrottle(app, config.loginRateLimit)
  // --- end of security and overload protection ---

  const core = await createCore(config, app.log)
  const { storage, followService, tweetService, mediaService, fanoutService, fanoutWorker } = core
  app.addHook('onReady', async () => fanoutWorker.start())
  // On listen, not on ready: the clean-up waits for the service, never the other way round.
  app.addHook('onListen', async () => core.purgeSchedule.start())
  app.addHook('onClose', () => core.close())
  app.decorate('purgeMedia', () => mediaService.purge())
  app.decorate('drainFanout', () => fanoutService.drain())

  // Cross-origin access and the API document: registered before any route, so both cover every route.
  await registerCors(app, config.corsOrigins)
  await registerApiDocs(app)

  await app.register(fastifyJwt, {
    secret: config.jwtSecret,
    sign: { algorithm: 'HS256', expiresIn: config.jwtExpiresIn },
    verify: { algorithms: ['HS256'], requiredClaims: ['exp', 'user_id'], extractToken: tokenFromHeader },
    // A deleted account's tokens stop working at once: one primary-key lookup per authenticated request,
    // unless the route's own write refuses a missing account (view/auth.ts accountCheckedByService).
    trusted: trustedToken((userId) => userService.exists(userId))
  })

  const userService = new UserService(
    core.transactor,
    core.userDao,
    core.pendingObjectDao,
    storage,
    app.jwt,
    { bcryptRounds: config.bcryptRounds, maxUploadBytes: config.maxUploadBytes, maxImagePixels: config.maxImagePixels },
    app.log
  )

  // S3 objects are served by the bucket (or the CDN in front of it), not by the app.
  if (config.storage === 'local') {
    await app.register(fastifyStatic, {
      root: resolve(config.uploadDir),
      prefix: localUploadsPrefix,
      // Stored names are generated and never reused, so the files can be cached forever.
      immutable: true,
      maxAge: '365d',
      index: false,
      list: false,
      // Only stored objects: no dotfiles, no half-written `.partial` files, nothing else under UPLOAD_DIR.
      allowedPath: (path) => isStorageKey(path.slice(1)),
      // Pictures are embedded by web clients on other origins; the API's same-origin policy would block them.
      setHeaders: (reply) => {
        reply.header('cross-origin-resource-policy', 'cross-origin')
      }
    })
  }

  await app.register(pingRoutes)
  await app.register(healthRoutes, { healthService: core.healthService })
  await app.register(accountRoutes, { userService, throttleSignUp, throttleLogin })
  await app.register(userRoutes, { userService, followService, publicUrl: config.publicUrl })
  await app.register(tweetRoutes, { tweetService, publicUrl: config.publicUrl })
  await app.register(timelineRoutes, { tweetService, publicUrl: config.publicUrl })
  await app.register(followRoutes, { followService })
  // Multipart parsing (and its per-request hooks) only where uploads are received.
  await app.register(async (uploads) => {
    // One byte over the larger cap, so each service's own size check sees the excess and answers 413.
    const largestUpload = Math.max(config.maxUploadBytes, config.maxMediaBytes)
    await uploads.register(fastifyMultipart, {
      limits: { fileSize: largestUpload + 1, files: 1, fields: 10, parts: 20, fieldSize: 1024 },
      throwFileSizeLimit: true
    })
    await uploads.register(profilePictureRoutes, {
      userService,
      publicUrl: config.publicUrl,
      maxBytes: config.maxUploadBytes
    })
    await uploads.register(mediaRoutes, { mediaService, publicUrl: config.publicUrl, maxBytes: config.maxMediaBytes })
  })

  return app
}
