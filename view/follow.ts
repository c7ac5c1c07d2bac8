// The book's /follow and /unfollow: idempotent, so repeating one is not an error.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { FollowService } from '../service/follow-service.ts'
import { authenticate, bearerSecurity } from './auth.ts'
import { errorBody, rowId, userId } from './schemas.ts'

const responses = { 400: errorBody, 401: errorBody, 404: errorBody }

export const followRoutes: FastifyPluginAsyncZod<{ followService: FollowService }> = async (app, { followService }) => {
  app.post(
    '/follow',
    {
      onRequest: authenticate,
      bodyLimit: 1024,
      schema: {
        summary: 'Follow a user',
        tags: ['follow'],
        security: bearerSecurity,
        body: z.object({ follow: userId }),
        response: { 200: z.object({ user_id: rowId, follow: rowId }).describe('You follow the user'), ...responses }
      }
    },
    async (request) => {
      await followService.follow(request.user.user_id, request.body.follow)
      return { user_id: request.user.user_id, follow: request.body.follow }
    }
  )

  app.post(
    '/unfollow',
    {
      onRequest: authenticate,
      bodyLimit: 1024,
      schema: {
        summary: 'Stop following a user',
        tags: ['follow'],
        security: bearerSecurity,
        body: z.object({ unfollow: userId }),
        response: {
          200: z.object({ user_id: rowId, unfollow: rowId }).describe('You no longer follow the user'),
          ...responses
        }
      }
    },
    async (request) => {
      await followService.unfollow(request.user.user_id, request.body.unfollow)
      return { user_id: request.user.user_id, unfollow: request.body.unfollow }
    }
  )
}
