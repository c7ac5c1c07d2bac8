// GET /notifications (paged both ways like timelines, with the unread count) and POST /notifications/read.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { NotificationService } from '../service/notification-service.ts'
import { authenticate, bearerSecurity } from './auth.ts'
import {
  count,
  errorBody,
  nextCursor,
  prevCursor,
  rowId,
  timestamp,
  toTweetBody,
  tweetBody,
  twoWayPageQuery
} from './schemas.ts'

const unreadCount = count.describe('Notifications above your read mark')

const notificationBody = z.object({
  id: rowId,
  type: z.enum(['follow', 'like', 'reply', 'mention', 'retweet']),
  created_at: timestamp,
  account: tweetBody.shape.user.describe('Who followed, liked, replied, mentioned or retweeted'),
  tweet: tweetBody
    .nullable()
    .describe('The tweet liked or retweeted, the reply, or the mentioning tweet; null for a follow')
})

export const notificationRoutes: FastifyPluginAsyncZod<{ notificationService: NotificationService }> = async (
  app,
  { notificationService }
) => {
  app.get(
    '/notifications',
    {
      onRequest: authenticate,
      schema: {
        summary: 'Your notifications',
        description:
          'Newest first; `?before=` takes next_cursor for older ones, `?after=` a prev_cursor (or the newest id you ' +
          'hold) for newer ones, as on timelines. Never for your own actions, nor from users you block, who block ' +
          'you or whom you mute; one per source (liking twice notifies once), removed when the source goes.',
        tags: ['notifications'],
        security: bearerSecurity,
        querystring: twoWayPageQuery,
        response: {
          200: z
            .object({
              notifications: z.array(notificationBody),
              next_cursor: nextCursor,
              prev_cursor: prevCursor,
              unread_count: unreadCount
            })
            .describe('A page of your notifications'),
          400: errorBody,
          401: errorBody
        }
      }
    },
    async (request) => {
      const page = await notificationService.list(request.user.user_id, request.query)
      return {
        notifications: page.items.map((item) => ({
          id: item.id,
          type: item.type,
          created_at: item.created_at.toISOString(),
          account: item.account,
          tweet: item.tweet && toTweetBody(item.tweet)
        })),
        next_cursor: page.next_cursor,
        prev_cursor: page.prev_cursor,
        unread_count: page.unread_count
      }
    }
  )

  app.post(
    '/notifications/read',
    {
      onRequest: authenticate,
      bodyLimit: 1024,
      schema: {
        summary: 'Mark notifications read',
        description: 'Everything up to `up_to` (a notification id) is read; the mark never moves back.',
        tags: ['notifications'],
        security: bearerSecurity,
        body: z.object({ up_to: rowId.max(Number.MAX_SAFE_INTEGER) }),
        response: {
          200: z.object({ unread_count: unreadCount }).describe('What is still unread'),
          400: errorBody,
          401: errorBody
        }
      }
    },
    async (request) => notificationService.markRead(request.user.user_id, request.body.up_to)
  )
}
