// Posting a tweet (the book's POST /tweet).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { TweetService } from '../service/tweet-service.ts'
import { authenticate, bearerSecurity } from './auth.ts'
import { errorBody, toTweetBody, tweetBody } from './schemas.ts'

// Lengths count Unicode code points, like the VARCHAR(300) column in utf8mb4 does.
const tweetText = z
  .string()
  .refine((text) => text.trim().length > 0, 'must not be empty')
  .refine((text) => [...text].length <= 300, 'must be at most 300 characters')

export const tweetRoutes: FastifyPluginAsyncZod<{ tweetService: TweetService }> = async (app, { tweetService }) => {
  app.post(
    '/tweet',
    {
      onRequest: authenticate,
      // 300 code points, each at most 12 bytes as a JSON-escaped surrogate pair, plus room.
      bodyLimit: 8 * 1024,
      schema: {
        summary: 'Post a tweet',
        tags: ['tweets'],
        security: bearerSecurity,
        body: z.object({ tweet: tweetText }),
        response: { 200: tweetBody, 400: errorBody, 401: errorBody }
      }
    },
    async (request) => toTweetBody(await tweetService.tweet(request.user.user_id, request.body.tweet))
  )
}
