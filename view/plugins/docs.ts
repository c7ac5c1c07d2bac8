// The OpenAPI document, generated from the routes' own zod schemas, and Swagger UI at /docs.
import fastifySwagger, { type SwaggerTransform } from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'
import type { z } from 'zod'
import pkg from '../../package.json' with { type: 'json' }
import { errorBody } from '../schemas.ts'

export const docsPrefix = '/docs'

const tooManyRequests = errorBody.describe(
  'Too many requests from this address (RATE_LIMIT_MAX per RATE_LIMIT_WINDOW; POST /login also ' +
    'LOGIN_RATE_LIMIT_PER_IP and LOGIN_RATE_LIMIT_PER_EMAIL): retry after `retry_after` seconds, also sent as Retry-After'
)

/**
 * Must run before any route is added: @fastify/swagger collects routes as they are registered.
 * Its own routes and @fastify/static's are marked hidden by those plugins and stay out of the document.
 */
export async function registerApiDocs(app: FastifyInstance): Promise<void> {
  // Answers that come from app-wide limits rather than from a route's own logic, added to every route
  // they apply to (a route may declare its own): 429 wherever the per-IP budget counts, 413 wherever a
  // body is read.
  const defaultBodyLimit = app.initialConfig.bodyLimit!
  app.addHook('onRoute', (route) => {
    if (!route.schema || route.schema.hide) return
    const response: Record<string, unknown> = { ...(route.schema.response as Record<string, unknown>) }
    if (route.config?.rateLimit !== false) response[429] ??= tooManyRequests
    if (route.schema.body || route.schema.consumes) {
      response[413] ??= errorBody.describe(`The body is larger than ${route.bodyLimit ?? defaultBodyLimit} bytes`)
    }
    route.schema = { ...route.schema, response }
  })
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Miniter',
        version: pkg.version,
        description:
          'The mini-Twitter API: sign up, log in, tweet, follow, read timelines, upload a profile picture. ' +
          'Errors are JSON `{ "message": ... }`.'
      },
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              'The access_token from POST /login, sent as `Authorization: Bearer <token>`. ' +
              "The book's clients send the bare token (`Authorization: <token>`), which is accepted too."
          },
          streamTicket: {
            type: 'apiKey',
            in: 'query',
            name: 'ticket',
            description:
              'A one-time ticket from POST /stream/ticket, for GET /stream only (EventSource sends no headers)'
          }
        }
      }
    },
    transform: jsonSchemaTransform,
    // Emits schemas registered in zod's global registry as shared components.
    transformObject: jsonSchemaTransformObject
  })
  // staticCSP: the UI's pages get a policy that lets its own scripts and styles load (the API's is 'none').
  // Without upgrade-insecure-requests: opened over plain HTTP at any address other than localhost, the
  // browser would fetch the page's own assets over HTTPS, which this server does not speak: a blank page.
  await app.register(fastifySwaggerUi, {
    routePrefix: docsPrefix,
    staticCSP: true,
    transformStaticCSP: (policy) => policy.replace(/\s*upgrade-insecure-requests;?/, '')
  })
}

/**
 * Route config for a body that a plugin parses instead of Fastify (multipart): the body is
 * described in the document only, so the route's validation stays exactly as it is.
 */
export function documentedBody(body: z.ZodType): { swaggerTransform: SwaggerTransform } {
  return {
    swaggerTransform: (document) => jsonSchemaTransform({ ...document, schema: { ...document.schema, body } })
  }
}
