// Timelines: a user's own tweets plus those of everyone they follow, newest first, keyset-paged.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { TweetService } from '../service/tweet-service.ts'
import { authenticate, bearerSecurity, callerId, optionalAuthenticate, optionalBearerSecurity } from './auth.ts'
import { notModified, notModifiedBody, weakTag } from './conditional.ts'
import {
  errorBody,
  nextCursor,
  prevCursor,
  rowId,
  toTweetBody,
  tweetBody,
  tweetVersion,
  twoWayPageQuery,
  userIdParams
} from './schemas.ts'

const timelineBody = z
  .object({ user_id: rowId, timeline: z.array(tweetBody), next_cursor: nextCursor, prev_cursor: prevCursor })
  .describe('A page of the timeline, newest first, with an ETag')

export const timelineRoutes: FastifyPluginAsyncZod<{ tweetService: TweetService }> = async (app, { tweetService }) => {
  // A 304 when the client's copy is current: the tag comes from the page's tweets, before any body is built.
  const timelineOf = async (
    request: FastifyRequest,
    reply: FastifyReply,
    userId: number,
    query: z.infer<typeof twoWayPageQuery>,
    viewerId: number | undefined
  ) => {
    const page = await tweetService.timelineFor(userId, query, viewerId)
    const version = `${userId} ${page.next_cursor} ${page.prev_cursor} ${page.items.map(tweetVersion).join(' ')}`
    if (notModified(request, reply, weakTag(version))) return reply.code(304).send(null)
    return {
      user_id: userId,
      timeline: page.items.map(toTweetBody),
      next_cursor: page.next_cursor,
      prev_cursor: page.prev_cursor
    }
  }

  app.get(
    '/timeline/:user_id',
    {
      onRequest: optionalAuthenticate,
      schema: {
        summary: "A user's timeline",
        description:
          'With a token, each tweet’s `liked` and `retweeted` say whether the caller likes or retweeted it; without one they are false.',
        tags: ['timeline'],
        security: optionalBearerSecurity,
        params: userIdParams,
        querystring: twoWayPageQuery,
        response: {
          200: timelineBody,
          304: notModifiedBody,
          400: errorBody,
          401: errorBody.describe('A token was given and is not valid'),
          404: errorBody
        }
      }
    },
    async (request, reply) => timelineOf(request, reply, request.params.user_id, request.query, callerId(request))
  )

  app.get(
    '/timeline',
    {
      onRequest: authenticate,
      schema: {
        summary: "The caller's own timeline",
        tags: ['timeline'],
        security: bearerSecurity,
        querystring: twoWayPageQuery,
        response: { 200: timelineBody, 304: notModifiedBody, 400: errorBody, 401: errorBody, 404: errorBody }
      }
    },
    async (request, reply) => timelineOf(request, reply, request.user.user_id, request.query, request.user.user_id)
  )
}
