// Blocks and mutes: PUT and DELETE /users/:user_id/block and /mute (idempotent, answering how the caller
// now stands towards the user), and the caller's own lists, /users/me/blocks and /users/me/mutes.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { FollowService } from '../service/follow-service.ts'
import { authenticate, bearerSecurity } from './auth.ts'
import {
  errorBody,
  nextCursor,
  pageQuery,
  relationshipBody,
  toUserSummaryBody,
  userIdParams,
  userSummaryBody
} from './schemas.ts'

const what = {
  block:
    'Blocking works both ways: the follows between you end, neither can follow the other, and neither sees ' +
    'the other’s tweets. Blocking yourself answers 400.',
  mute: 'Muting is one way: the user’s tweets and retweets leave your home timeline; they notice nothing.'
}

export const blockRoutes: FastifyPluginAsyncZod<{ followService: FollowService }> = async (app, { followService }) => {
  for (const kind of ['block', 'mute'] as const) {
    const responses = {
      200: relationshipBody,
      400: errorBody,
      401: errorBody,
      404: errorBody.describe('No such user')
    }
    app.put(
      `/users/:user_id/${kind}`,
      {
        onRequest: authenticate,
        schema: {
          summary: kind === 'block' ? 'Block a user' : 'Mute a user',
          description: `${what[kind]} Idempotent.`,
          tags: ['blocks'],
          security: bearerSecurity,
          params: userIdParams,
          response: responses
        }
      },
      async (request) => followService[kind](request.user.user_id, request.params.user_id)
    )
    app.delete(
      `/users/:user_id/${kind}`,
      {
        onRequest: authenticate,
        schema: {
          summary: kind === 'block' ? 'Unblock a user' : 'Unmute a user',
          description: `Idempotent.${kind === 'block' ? ' Follows the block ended stay ended.' : ''}`,
          tags: ['blocks'],
          security: bearerSecurity,
          params: userIdParams,
          response: responses
        }
      },
      async (request) =>
        kind === 'block'
          ? followService.unblock(request.user.user_id, request.params.user_id)
          : followService.unmute(request.user.user_id, request.params.user_id)
    )
  }

  for (const list of ['blocks', 'mutes'] as const) {
    app.get(
      `/users/me/${list}`,
      {
        onRequest: authenticate,
        schema: {
          summary: list === 'blocks' ? 'The users you block' : 'The users you mute',
          description: 'Highest user id first; `?before=` takes the previous page’s next_cursor.',
          tags: ['blocks'],
          security: bearerSecurity,
          querystring: pageQuery,
          response: {
            200: z
              .object({ users: z.array(userSummaryBody), next_cursor: nextCursor })
              .describe(list === 'blocks' ? 'A page of the users you block' : 'A page of the users you mute'),
            400: errorBody,
            401: errorBody
          }
        }
      },
      async (request) => {
        const page = await followService[list](request.user.user_id, request.query)
        return { users: page.items.map(toUserSummaryBody), next_cursor: page.next_cursor }
      }
    )
  }
}
