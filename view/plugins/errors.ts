// The API's answers when a route does not answer for itself: every error as JSON `{message, ...}` with
// the right status (validation 400 naming the field, 415, 503 for shedding and an absent database,
// never a 5xx for a client's mistake), 404 for unknown routes, and 405 or OPTIONS with Allow for a
// known path asked with another method.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import FindMyWay, { type HTTPMethod } from 'find-my-way'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import { isStatementTimeout, ServiceError } from '../../service/errors.ts'

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

// 503s that are not bugs: load shedding (@fastify/under-pressure) and the per-request deadline.
const sheddingMessages: Record<string, string> = {
  FST_UNDER_PRESSURE: 'The server is overloaded, retry later',
  FST_ERR_HANDLER_TIMEOUT: 'The request took too long, retry later'
}

function isDatabaseUnavailable(error: FastifyError & { fatal?: boolean }): boolean {
  // mysql2 marks errors that killed the connection as fatal; the pool's own errors carry no code.
  return (
    unavailableCodes.has(error.code) ||
    error.fatal === true ||
    /Pool is closed|Queue limit reached/.test(error.message ?? '')
  )
}

const allMethods: HTTPMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']

/** Must run before any route is added: it records every route's methods as they are added. */
export function registerErrorAnswers(app: FastifyInstance): void {
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
      const errors = error.validation.flatMap((issue) => {
        const field = issue.instancePath.replace(/^\//, '').replaceAll('/', '.')
        const location = error.validationContext
        // zod reports unknown keys on the object holding them: name each key as the field at fault.
        if (issue.keyword === 'unrecognized_keys') {
          const keys = (issue.params as { keys: string[] }).keys
          return keys.map((key) => ({
            location,
            field: field ? `${field}.${key}` : key,
            message: 'is not a known field'
          }))
        }
        return [{ location, field, message: issue.message }]
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
    if (sheddingMessages[error.code]) {
      if (!reply.hasHeader('retry-after')) reply.header('retry-after', '5')
      return reply.code(503).send({ message: sheddingMessages[error.code] })
    }
    if (isStatementTimeout(error)) {
      request.log.warn({ err: error }, 'the database stopped a statement at its time limit')
      return reply.code(503).header('retry-after', '5').send({ message: sheddingMessages.FST_ERR_HANDLER_TIMEOUT })
    }
    if (isDatabaseUnavailable(error)) {
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
}
