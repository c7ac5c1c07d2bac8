// buildApp(config): pool → DAOs → services → plugins → views, wired by hand (the book's create_app).
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import fastifyJwt from '@fastify/jwt'
import fastifyMultipart from '@fastify/multipart'
import fastifyStatic from '@fastify/static'
import FindMyWay, { type HTTPMethod } from 'find-my-way'
import {
  hasZodFastifySchemaValidationErrors,
  validatorCompiler,
  type ZodTypeProvider
} from 'fastify-type-provider-zod'
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Config } from './config.ts'
import { createPool, Transactor } from './model/database.ts'
import { FollowDao } from './model/follow-dao.ts'
import { TimelineDao } from './model/timeline-dao.ts'
import { MediaDao } from './model/media-dao.ts'
import { TweetDao } from './model/tweet-dao.ts'
import { UserDao } from './model/user-dao.ts'
import { ServiceError } from './service/errors.ts'
import { FollowService } from './service/follow-service.ts'
import { LocalStorage, localUploadsPrefix } from './service/local-storage.ts'
import { S3Storage } from './service/s3-storage.ts'
import type { Storage } from './service/storage.ts'
import { MediaService, type PurgeReport } from './service/media-service.ts'
import { TweetService } from './service/tweet-service.ts'
import { UserService } from './service/user-service.ts'
import { tokenFromHeader } from './view/auth.ts'
import { registerCors } from './view/cors.ts'
import { registerApiDocs } from './view/docs.ts'
import { followRoutes } from './view/follow.ts'
import { mediaRoutes } from './view/media.ts'
import { pingRoutes } from './view/ping.ts'
import { serializerCompiler } from './view/serializer.ts'
import { profilePictureRoutes } from './view/profile-picture.ts'
import { timelineRoutes } from './view/timeline.ts'
import { tweetRoutes } from './view/tweets.ts'
import { userRoutes } from './view/users.ts'
import { profileRoutes } from './view/users-profile.ts'

export type AppConfig = Config & { databaseUrl: string }

declare module 'fastify' {
  interface FastifyInstance {
    /** Removes abandoned uploads and media past their grace period; setup.ts runs it. */
    purgeMedia(): Promise<PurgeReport>
  }
}

// mysql2 error codes that mean "the database is not there", answered 503 rather than 500.
const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'POOL_CLOSED'
])

const allMethods: HTTPMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']

/** Local disk serves a single instance; several instances must share an S3 bucket. */
function createStorage(config: Config): Storage {
  if (config.storage === 's3') {
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

export async function buildApp(config: AppConfig): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: config.logLevel },
    trustProxy: config.trustProxy,
    // Bodies other than uploads are small JSON documents.
    bodyLimit: 64 * 1024,
    return503OnClosing: true
  }).withTypeProvider<ZodTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  // The API speaks JSON (and multipart for uploads); a text/plain body is a client mistake, answered 415.
  app.removeContentTypeParser('text/plain')

  const routes = FindMyWay()
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    for (const method of methods) {
      if (allMethods.includes(method as HTTPMethod) && !routes.hasRoute(method as HTTPMethod, route.url)) {
        routes.on(method as HTTPMethod, route.url, () => {})
      }
    }
  })

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0]
    const allowed = allMethods.filter((method) => routes.find(method, path))
    // A route that exists for this method but called "not found" itself (a missing static file) is a 404.
    if (allowed.length === 0 || allowed.includes(request.method as HTTPMethod)) {
      return reply.code(404).send({ message: `Route ${request.method} ${path} not found` })
    }
    const allow = [...allowed, 'OPTIONS'].join(', ')
    if (request.method === 'OPTIONS') return reply.code(204).header('allow', allow).send()
    return reply
      .code(405)
      .header('allow', allow)
      .send({ message: `Method ${request.method} is not allowed on ${path}`, allow: [...allowed, 'OPTIONS'] })
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ServiceError) {
      if (error.statusCode >= 500) request.log.error({ err: error }, error.message)
      return reply.code(error.statusCode).send({ message: error.message, ...error.details })
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const errors = error.validation.map((issue) => {
        const field = issue.instancePath.replace(/^\//, '').replaceAll('/', '.')
        return { location: error.validationContext, field, message: issue.message }
      })
      const first = errors[0]
      const message = first.field
        ? `${first.location} ${first.field}: ${first.message}`
        : `${first.location}: ${first.message}`
      return reply.code(400).send({ message, errors })
    }
    if (error.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') {
      return reply.code(415).send({ message: 'The request must be multipart/form-data' })
    }
    if (unavailableCodes.has(error.code) || error.message?.includes('Pool is closed')) {
      request.log.warn({ err: error }, 'a backing service (database or storage) is unavailable')
      return reply.code(503).header('retry-after', '5').send({ message: 'Service temporarily unavailable' })
    }
    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ message: error.message })
    }
    request.log.error({ err: error }, 'unhandled error')
    return reply.code(500).send({ message: 'Internal Server Error' })
  })

  const pool = createPool(config.databaseUrl)
  const readPool = config.databaseReadUrl ? createPool(config.databaseReadUrl) : pool
  app.addHook('onClose', async () => {
    await pool.end()
    if (readPool !== pool) await readPool.end()
  })

  const userDao = new UserDao(pool, readPool)
  const followDao = new FollowDao(readPool)
  const tweetDao = new TweetDao(pool)
  const timelineDao = new TimelineDao(readPool)
  const transactor = new Transactor(pool)
  const mediaDao = new MediaDao(pool)

  const storage = createStorage(config)

  // Cross-origin access and the API document: registered before any route, so both cover every route.
  await registerCors(app, config.corsOrigins)
  await registerApiDocs(app)

  await app.register(fastifyJwt, {
    secret: config.jwtSecret,
    sign: { algorithm: 'HS256', expiresIn: config.jwtExpiresIn },
    verify: { algorithms: ['HS256'], requiredClaims: ['exp', 'user_id'], extractToken: tokenFromHeader }
  })

  const userService = new UserService(userDao, storage, app.jwt, {
    bcryptRounds: config.bcryptRounds,
    maxUploadBytes: config.maxUploadBytes
  })
  const followService = new FollowService(transactor, followDao, timelineDao, userDao, storage, {
    fanoutMaxFollowers: config.fanoutMaxFollowers,
    timelineBackfill: config.timelineBackfill
  })
  const mediaService = new MediaService(mediaDao, storage, {
    maxMediaBytes: config.maxMediaBytes,
    graceDays: config.mediaGraceDays
  })
  app.decorate('purgeMedia', () => mediaService.purge())
  const tweetService = new TweetService(transactor, tweetDao, timelineDao, userDao, followDao, storage, mediaService)

  // One byte over the larger cap, so each service's own size check sees the excess and answers 413.
  const largestUpload = Math.max(config.maxUploadBytes, config.maxMediaBytes)
  await app.register(fastifyMultipart, {
    limits: { fileSize: largestUpload + 1, files: 1, fields: 10, parts: 20, fieldSize: 1024 },
    throwFileSizeLimit: true
  })
  // S3 objects are served by the bucket (or the CDN in front of it), not by the app.
  if (config.storage === 'local') {
    await app.register(fastifyStatic, {
      root: resolve(config.uploadDir),
      prefix: localUploadsPrefix,
      // Stored names are generated and never reused, so the files can be cached forever.
      immutable: true,
      maxAge: '365d',
      index: false,
      list: false
    })
  }

  await app.register(pingRoutes)
  await app.register(userRoutes, { userService })
  await app.register(profileRoutes, { userService, followService, publicUrl: config.publicUrl })
  await app.register(tweetRoutes, { tweetService, publicUrl: config.publicUrl })
  await app.register(timelineRoutes, { tweetService, publicUrl: config.publicUrl })
  await app.register(followRoutes, { followService })
  await app.register(profilePictureRoutes, { userService, publicUrl: config.publicUrl })
  await app.register(mediaRoutes, { mediaService, publicUrl: config.publicUrl })


  return app
}
