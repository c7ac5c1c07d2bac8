// Timelines: a user's own tweets plus those of everyone they follow, newest first.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { TweetService } from '../service/tweet-service.ts'
import { authenticate, bearerSecurity } from './auth.ts'
import { errorBody, toTweetBody, tweetBody, userIdParams } from './schemas.ts'

const timelineQuery = z.object({
  limit: z.coerce
    .number({ error: 'must be an integer from 1 to 100' })
    .int('must be an integer from 1 to 100')
    .min(1, 'must be an integer from 1 to 100')
    .max(100, 'must be an integer from 1 to 100')
    .default(20)
})

const timelineBody = z.object({ user_id: z.number().int(), timeline: z.array(tweetBody) })

export const timelineRoutes: FastifyPluginAsyncZod<{ tweetService: TweetService }> = async (
  app,
  { tweetService }
) => {
  const timelineOf = async (userId: number, limit: number) => ({
    user_id: userId,
    timeline: (await tweetService.timelineFor(userId, limit)).map(toTweetBody)
  })

  app.get(
    '/timeline/:user_id',
    {
      schema: {
        summary: "A user's timeline",
        tags: ['timeline'],
        params: userIdParams,
        querystring: timelineQuery,
        response: { 200: timelineBody, 400: errorBody, 404: errorBody }
      }
    },
    async (request) => timelineOf(request.params.user_id, request.query.limit)
  )

  app.get(
    '/timeline',
    {
      onRequest: authenticate,
      schema: {
        summary: "The caller's own timeline",
        tags: ['timeline'],
        security: bearerSecurity,
        querystring: timelineQuery,
        response: { 200: timelineBody, 400: errorBody, 401: errorBody, 404: errorBody }
      }
    },
    async (request) => timelineOf(request.user.user_id, request.query.limit)
  )
}
