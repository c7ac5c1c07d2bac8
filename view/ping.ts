// Liveness for the load balancer: answers without touching the database.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** @fastify/under-pressure's per-route handler; one that sends nothing lets the request through. */
    pressureHandler?: () => void
    /** A handler that answers at once needs no handler deadline (app.ts). */
    waitsOnNothing?: boolean
  }
}

export const pingRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/ping',
    {
      // A busy instance is still alive: throttling or shedding liveness checks would get it restarted.
      // Only load balancers read it, so it carries no document headers.
      config: { rateLimit: false, pressureHandler: () => {}, securityHeaders: false, waitsOnNothing: true },
      schema: {
        summary: 'Liveness check',
        tags: ['health'],
        produces: ['text/plain'],
        response: { 200: z.literal('pong').describe('Alive') }
      }
    },
    async (_request, reply) => reply.type('text/plain; charset=utf-8').send('pong')
  )
}
