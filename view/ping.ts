// Liveness for the load balancer: answers without touching the database.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'

export const pingRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/ping',
    {
      schema: {
        summary: 'Liveness check',
        tags: ['health'],
        produces: ['text/plain'],
        response: { 200: z.literal('pong') }
      }
    },
    async (_request, reply) => reply.type('text/plain; charset=utf-8').send('pong')
  )
}
