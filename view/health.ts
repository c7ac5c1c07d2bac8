// Readiness for the load balancer: 200 while the database answers, 503 while it does not; the body
// reports the fan-out backlog for operators.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { HealthService } from '../service/health-service.ts'
import { errorBody } from './schemas.ts'

export const healthRoutes: FastifyPluginAsyncZod<{ healthService: HealthService }> = async (app, { healthService }) => {
  app.get(
    '/health/ready',
    {
      // Polled by load balancers, so not rate limited; still shed under pressure, which is the point:
      // an overloaded instance should get no new traffic until it recovers. Not a document: no security headers.
      config: { rateLimit: false, securityHeaders: false },
      schema: {
        summary: 'Readiness check: the database answers; the fan-out backlog',
        tags: ['health'],
        response: {
          200: z
            .object({
              status: z.literal('ready'),
              fanout: z.object({
                pending: z.number().int().min(0).describe('Tweets whose copy to followers is not finished'),
                oldest_pending_seconds: z.number().min(0).describe('Age of the oldest of them; 0 when there is none')
              })
            })
            .describe('Ready: the database answers'),
          503: errorBody.describe('Not ready: the database is not answering, or the instance sheds load')
        }
      }
    },
    async () => {
      const { fanout } = await healthService.readiness()
      return { status: 'ready' as const, fanout }
    }
  )
}
