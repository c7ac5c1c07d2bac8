// Cross-origin access for browser clients, limited to the origins CORS_ORIGINS allows.
import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors'
import type { FastifyInstance, FastifyRequest } from 'fastify'

const isPreflight = (request: FastifyRequest) =>
  request.method === 'OPTIONS' &&
  request.headers.origin !== undefined &&
  request.headers['access-control-request-method'] !== undefined

/** Must run before any route is added, so its hook covers every route. */
export async function registerCors(app: FastifyInstance, origins: '*' | string[]): Promise<void> {
  // With no allowed origin there is nothing to add: browsers block cross-origin reads on their own.
  if (origins !== '*' && origins.length === 0) return
  const options: FastifyCorsOptions = {
    origin: origins,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    // The token travels in Authorization, never in cookies, so credentials stay off.
    allowedHeaders: ['Authorization', 'Content-Type'],
    exposedHeaders: ['ETag', 'Location', 'Retry-After'],
    maxAge: 600
  }
  await app.register(fastifyCors, {
    // The plugin answers real preflights only; a plain OPTIONS falls through to the not-found
    // handler, which answers 204 with Allow for a known path and 404 otherwise.
    delegator: (request, callback) => callback(null, { ...options, preflight: isPreflight(request) })
  })
}
