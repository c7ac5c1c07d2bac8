// Timelines: a user's own tweets plus those of everyone they follow, newest first, keyset-paged.
import fastifyEtag from '@fastify/etag'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { TweetService } from '../service/tweet-service.ts'
import { authenticate, bearerSecurity } from './auth.ts'
import { absolute, errorBody, nextCursor, pageQuery, toTweetBody, tweetBody, userIdParams } from './schemas.ts'

const timelineBody = z.object({ user_id: z.number().int(), timeline: z.array(tweetBody), next_cursor: nextCursor })

export const timelineRoutes: FastifyPluginAsyncZod<{ tweetService: TweetService; publicUrl?: string }> = async (
  app,
  { tweetService, publicUrl }
) => {
  await app.register(fastifyEtag)

  const timelineOf = async (userId: number, query: z.infer<typeof pageQuery>, abs: (url: string) => string) => {
    const page = await tweetService.timelineFor(userId, query)
    return {
      user_id: userId,
      timeline: page.items.map((item) => toTweetBody(item, abs)),
      next_cursor: page.next_cursor
    }
  }

  app.get(
    '/timeline/:user_id',
    {
      schema: {
        summary: "A user's timeline",
        tags: ['timeline'],
        params: userIdParams,
        querystring: pageQuery,
        response: { 200: timelineBody, 400: errorBody, 404: errorBody }
      }
    },
    async (request) => timelineOf(request.params.user_id, request.query, absolute(request, publicUrl))
  )

  app.get(
    '/timeline',
    {
      onRequest: authenticate,
      schema: {
        summary: "The caller's own timeline",
        tags: ['timeline'],
        security: bearerSecurity,
        querystring: pageQuery,
        response: { 200: timelineBody, 400: errorBody, 401: errorBody, 404: errorBody }
      }
    },
    async (request) => timelineOf(request.user.user_id, request.query, absolute(request, publicUrl))
  )
}
