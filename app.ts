// The composition root, wired by hand (the book's create_app). buildServices(config) builds pools → DAOs →
// storage → services and the fan-out worker, without HTTP: every process (serve, worker, purge), the tests
// and the benchmark start from it. buildApp(config, services) puts the plugins and routes on top.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import { once } from 'node:events'
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Redis } from 'ioredis'
import { pino } from 'pino'
import type { Config } from './config.ts'
import { AccountDao } from './model/account-dao.ts'
import { createPool, poolUsage, Transactor } from './model/database.ts'
import { createRedis, type RedisSettings } from './model/redis.ts'
import { FollowDao } from './model/follow-dao.ts'
import { BlockDao } from './model/block-dao.ts'
import { FanoutDao } from './model/fanout-dao.ts'
import { NotificationDao } from './model/notification-dao.ts'
import { LikeDao } from './model/like-dao.ts'
import { MediaDao } from './model/media-dao.ts'
import { PendingObjectDao } from './model/pending-object-dao.ts'
import { SearchDao } from './model/search-dao.ts'
import { PersonalTokenDao } from './model/personal-token-dao.ts'
import { StreamTicketDao } from './model/stream-ticket-dao.ts'
import { TimelineDao } from './model/timeline-dao.ts'
import { TweetDao, tweetCacheEntries } from './model/tweet-dao.ts'
import { authorCacheEntries, UserDao } from './model/user-dao.ts'
import { FanoutService } from './service/fanout-service.ts'
import { FanoutWorker } from './service/fanout-worker.ts'
import { FollowService } from './service/follow-service.ts'
import { HealthService } from './service/health-service.ts'
import { LikeService } from './service/like-service.ts'
import { NotificationService } from './service/notification-service.ts'
import { SearchService } from './service/search-service.ts'
import { PersonalTokenService } from './service/personal-token-service.ts'
import { ExportService } from './service/export-service.ts'
import { MediaService, type PurgeReport } from './service/media-service.ts'
import { AccountEraser } from './service/account-eraser.ts'
import { PurgeSchedule } from './service/purge-schedule.ts'
import { LocalEventBus, type EventBus } from './service/events.ts'
import { RedisEventBus } from './service/redis-event-bus.ts'
import { StreamService } from './service/stream-service.ts'
import { LocalStorage } from './service/storage/local.ts'
import type { Storage } from './service/storage/storage.ts'
import { createTokenSigner } from './service/tokens.ts'
import { TweetService } from './service/tweet-service.ts'
import { UserService } from './service/user-service.ts'
import { accountRoutes } from './view/account.ts'
import { registerAuth } from './view/auth.ts'
import { blockRoutes } from './view/blocks.ts'
import { notificationRoutes } from './view/notifications.ts'
import { searchRoutes } from './view/search.ts'
import { tokenRoutes } from './view/tokens.ts'
import { exportRoutes } from './view/export.ts'
import { followRoutes } from './view/follow.ts'
import { healthRoutes } from './view/health.ts'
import { mediaRoutes } from './view/media.ts'
import { registerMultipart } from './view/multipart.ts'
import { pingRoutes } from './view/ping.ts'
import { closeConnectionsLeftUnread } from './view/plugins/connection-close.ts'
import { registerCors } from './view/plugins/cors.ts'
import { docsPrefix, registerApiDocs } from './view/plugins/docs.ts'
import { registerErrorAnswers } from './view/plugins/errors.ts'
import { registerLimits } from './view/plugins/rate-limits.ts'
import { streamRoutes } from './view/stream.ts'
import { createMetrics, registerMetrics } from './view/plugins/metrics.ts'
import { registerSecurityHeaders } from './view/plugins/security-headers.ts'
import { serializerCompiler } from './view/plugins/serializer.ts'
import { registerStoredFiles } from './view/plugins/stored-files.ts'
import { profilePictureRoutes } from './view/profile-picture.ts'
import { timelineRoutes } from './view/timeline.ts'
import { tweetRoutes } from './view/tweets.ts'
import { userRoutes } from './view/users.ts'

export type AppConfig = Config & { databaseUrl: string }

declare module 'fastify' {
  interface FastifyInstance {
    /** One media purge now (tests; a listening server purges on its own schedule). */
    purgeMedia(): Promise<PurgeReport>
    /** Works the fan-out outbox until it is empty (tests, and operators' scripts). */
    drainFanout(): Promise<void>
    /** Finishes the erasure in hand and erases every account that is due (tests). */
    eraseAccounts(): Promise<number>
  }
}

/** Everything but HTTP: what `npm run worker` and `npm run purge` need, and what buildApp serves. */
export interface Services {
  /** The process's one logger: services log through it, and Fastify logs requests through it. */
  log: FastifyBaseLogger
  /** The connection to Redis (REDIS_URL), for state shared by every instance; none without it. */
  redis?: Redis
  storage: Storage
  userService: UserService
  followService: FollowService
  tweetService: TweetService
  likeService: LikeService
  notificationService: NotificationService
  /** This instance's live streams (GET /stream). */
  streamService: StreamService
  searchService: SearchService
  personalTokenService: PersonalTokenService
  exportService: ExportService
  mediaService: MediaService
  healthService: HealthService
  fanoutService: FanoutService
  fanoutWorker: FanoutWorker
  /** Erases deleted accounts once due: woken by a deletion, and run by every purge. */
  accountEraser: AccountEraser
  /** Erasure of due accounts and media purge at start and every PURGE_INTERVAL, started by a listening server. */
  purgeSchedule: PurgeSchedule
  /** Stops the purge schedule and the fan-out worker (each finishes the work in hand), then closes the pools. */
  close(): Promise<void>
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
  return new LocalStorage(uploadDir, config.publicUrl)
}

/**
 * Connects to Redis, waiting a moment for it: a Redis that is down does not stop the start (state then
 * stays in this process until Redis answers, see shared-limit-store.ts), it is only logged.
 */
async function connectRedis(settings: RedisSettings, log: FastifyBaseLogger): Promise<Redis> {
  const redis = createRedis(settings)
  const ready = await Promise.race([
    // `once` rejects on an 'error' event (a refused connection): not ready either.
    once(redis, 'ready').then(
      () => true,
      () => false
    ),
    new Promise<false>((resolve) => setTimeout(resolve, 2_000, false).unref())
  ])
  if (!ready) log.warn('Redis does not answer yet: rate limits and live events stay in this process until it does')
  return redis
}

/** Milliseconds an EventSource waits before reconnecting to GET /stream. */
const streamRetryMs = 2_000

/** Seconds a stream ticket is good for (POST /stream/ticket). */
const streamTicketSeconds = 30

/** Outbox rows a worker claims at once: enough to group many small fan-outs into one statement. */
const fanoutClaimBatch = 50

export async function buildServices(
  config: AppConfig,
  log: FastifyBaseLogger = pino({ level: config.logLevel })
): Promise<Services> {
  const redis = config.redis && (await connectRedis(config.redis, log))
  const pool = createPool(config.databaseUrl, config.databasePool)
  const readPool = config.databaseReadUrl ? createPool(config.databaseReadUrl, config.databasePool) : pool
  const cache = { ttlMs: config.readCacheTtlMs }

  const transactor = new Transactor(pool)
  const userDao = new UserDao(pool, readPool, { ...cache, maxEntries: authorCacheEntries })
  const followDao = new FollowDao(readPool)
  const blockDao = new BlockDao(pool, readPool)
  const notificationDao = new NotificationDao(pool)
  const tweetDao = new TweetDao(pool, readPool, { ...cache, maxEntries: tweetCacheEntries })
  const timelineDao = new TimelineDao(readPool)
  const mediaDao = new MediaDao(pool)
  const pendingObjectDao = new PendingObjectDao(pool)
  const fanoutDao = new FanoutDao(pool)
  const likeDao = new LikeDao(readPool)

  const storage = await createStorage(config)

  const userService = new UserService(
    transactor,
    userDao,
    pendingObjectDao,
    storage,
    createTokenSigner(config.jwtSecret, config.jwtExpiresIn),
    {
      bcryptRounds: config.bcryptRounds,
      maxUploadBytes: config.maxUploadBytes,
      maxImagePixels: config.maxImagePixels,
      accountGraceDays: config.accountGraceDays
    },
    log,
    // The eraser needs the services below; a deletion wakes it only once all are built.
    { wake: () => accountEraser.wake() }
  )
  // Live events: through Redis to every instance's streams, or to this process's own.
  const events: EventBus = redis ? new RedisEventBus(redis, log) : new LocalEventBus()
  const fanoutService = new FanoutService(
    transactor,
    fanoutDao,
    timelineDao,
    { chunkSize: config.fanout.chunkSize, leaseMs: config.fanout.leaseMs, claimBatch: fanoutClaimBatch },
    events
  )
  const fanoutWorker = new FanoutWorker(fanoutService, config.fanout, log)
  const followService = new FollowService(
    transactor,
    followDao,
    blockDao,
    notificationDao,
    timelineDao,
    userDao,
    storage,
    {
      fanoutMaxFollowers: config.fanoutMaxFollowers,
      timelineBackfill: config.timelineBackfill
    },
    events
  )
  const mediaService = new MediaService(transactor, mediaDao, pendingObjectDao, storage, {
    maxMediaBytes: config.maxMediaBytes,
    graceDays: config.mediaGraceDays,
    quotaBytes: config.mediaQuotaBytes,
    unattachedTtlMs: config.mediaUnattachedTtlMs,
    maxImagePixels: config.maxImagePixels
  })
  const tweetService = new TweetService(
    transactor,
    tweetDao,
    timelineDao,
    userDao,
    followDao,
    storage,
    mediaService,
    fanoutWorker,
    fanoutDao,
    notificationDao,
    events
  )
  const likeService = new LikeService(
    transactor,
    likeDao,
    tweetDao,
    userDao,
    notificationDao,
    tweetService,
    storage,
    followService,
    events
  )
  const notificationService = new NotificationService(transactor, notificationDao, userDao, tweetService, storage)
  const streamService = new StreamService(
    events,
    {
      streamItems: (rowId, viewerIds) => tweetService.streamItems(rowId, viewerIds),
      timelineFor: (userId, page, viewerId) => tweetService.timelineFor(userId, page, viewerId),
      notifications: (userId, page) => notificationService.list(userId, page)
    },
    followDao,
    new StreamTicketDao(pool),
    transactor,
    { ...config.stream, ticketSeconds: streamTicketSeconds },
    log
  )
  const accountEraser = new AccountEraser(
    transactor,
    userDao,
    new AccountDao(pool),
    pendingObjectDao,
    followService,
    likeService,
    tweetService,
    log
  )
  const purgeSchedule = new PurgeSchedule(mediaService, accountEraser, config.purgeIntervalMs, log)
  return {
    log,
    redis,
    storage,
    userService,
    followService,
    tweetService,
    likeService,
    notificationService,
    streamService,
    searchService: new SearchService(new SearchDao(readPool), tweetService, followService, storage),
    personalTokenService: new PersonalTokenService(new PersonalTokenDao(pool)),
    exportService: new ExportService(userService, tweetService, followService, likeService, mediaService),
    mediaService,
    healthService: new HealthService(fanoutService, config.readyCacheMs, undefined, () => ({
      primary: poolUsage(pool),
      ...(readPool !== pool && { replica: poolUsage(readPool) })
    })),
    fanoutService,
    fanoutWorker,
    accountEraser,
    purgeSchedule,
    async close() {
      streamService.closeAll()
      await Promise.all([purgeSchedule.stop(), fanoutWorker.stop(), accountEraser.stop()])
      await events.close()
      await Promise.all([userDao.authorsSettled(), tweetDao.tweetsSettled()])
      await pool.end()
      if (readPool !== pool) await readPool.end()
      redis?.disconnect()
    }
  }
}

/** Fastify's own settings: body size, slow-client timeouts, proxies, the process's logger. */
function serverOptions(config: Config, log: FastifyBaseLogger) {
  return {
    loggerInstance: log,
    trustProxy: config.trustProxy,
    // Bodies other than uploads are small JSON documents.
    bodyLimit: 64 * 1024,
    return503OnClosing: true,
    // Slow-client protection: a whole request must arrive within requestTimeout, a socket may idle
    // connectionTimeout; routes get their handler deadline in buildApp.
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
  }
}

/**
 * The HTTP app, in the order a request meets it: error answers, headers and limits, CORS and docs, then the
 * routes. The app owns the services it is given: closing it stops their workers and closes their pools.
 */
export async function buildApp(config: AppConfig, services: Services): Promise<FastifyInstance> {
  const { userService, followService, tweetService, likeService, mediaService } = services
  const app = Fastify(serverOptions(config, services.log)).withTypeProvider<ZodTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  // The API speaks JSON (and multipart for uploads); a text/plain body is a client mistake, answered 415.
  app.removeContentTypeParser('text/plain')
  // Every route answers within HANDLER_TIMEOUT_MS (503 otherwise), except one that waits on nothing (/ping).
  app.addHook('onRoute', (route) => {
    if (config.timeouts.handlerMs > 0 && route.config?.waitsOnNothing !== true) {
      route.handlerTimeout ??= config.timeouts.handlerMs
    }
  })

  registerErrorAnswers(app)
  registerSecurityHeaders(app, config.hstsMaxAge, docsPrefix)
  closeConnectionsLeftUnread(app)
  const { throttleSignUp, throttleLogin } = await registerLimits(app, config, services.redis)
  // Before any route, so both cover every route.
  await registerCors(app, config.corsOrigins)
  await registerApiDocs(app)
  await registerAuth(app, config.jwtSecret, userService, services.personalTokenService)

  app.addHook('onReady', async () => services.fanoutWorker.start())
  // On listen, not on ready: the clean-up waits for the service, never the other way round.
  app.addHook('onListen', async () => services.purgeSchedule.start())
  app.addHook('onClose', () => services.close())
  app.decorate('purgeMedia', () => mediaService.purge())
  app.decorate('drainFanout', () => services.fanoutService.drain())
  app.decorate('eraseAccounts', async () => {
    await services.accountEraser.settled()
    return services.accountEraser.eraseDue()
  })

  // Off unless asked for: counting every answer costs a little on every request.
  if (config.metrics.token || config.metrics.port !== undefined) {
    const streams = {
      help: 'Live streams (GET /stream) open on this instance',
      read: () => services.streamService.openStreams
    }
    registerMetrics(app, createMetrics(services.healthService, { miniter_open_streams: streams }), config.metrics)
  }
  // Before the server stops taking connections: streams end, so closing does not wait for them.
  app.addHook('preClose', async () => services.streamService.closeAll())
  if (config.storage === 'local') await registerStoredFiles(app, config.uploadDir)
  await app.register(pingRoutes)
  await app.register(healthRoutes, { healthService: services.healthService })
  await app.register(accountRoutes, {
    userService,
    throttleSignUp,
    throttleLogin,
    personalTokenService: services.personalTokenService
  })
  await app.register(userRoutes, { userService, followService, likeService, tweetService })
  await app.register(tweetRoutes, { tweetService, likeService })
  await app.register(timelineRoutes, { tweetService })
  await app.register(followRoutes, { followService })
  await app.register(blockRoutes, { followService })
  await app.register(notificationRoutes, { notificationService: services.notificationService })
  await app.register(searchRoutes, { searchService: services.searchService })
  await app.register(tokenRoutes, { personalTokenService: services.personalTokenService })
  await app.register(streamRoutes, {
    streamService: services.streamService,
    settings: { maxBufferedBytes: config.stream.maxBufferedBytes, retryMs: streamRetryMs }
  })
  await app.register(exportRoutes, { exportService: services.exportService })
  await app.register(async (uploads) => {
    await registerMultipart(uploads, Math.max(config.maxUploadBytes, config.maxMediaBytes))
    await uploads.register(profilePictureRoutes, { userService, maxBytes: config.maxUploadBytes })
    await uploads.register(mediaRoutes, { mediaService, maxBytes: config.maxMediaBytes })
  })
  return app
}
