// Tweets: the book's POST /tweet; reading, editing and deleting one tweet at /tweet/:id; retweeting it
// and undoing that at /tweet/:id/retweet.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { codePoints, maxTweetLength, maxTweetMedia } from '../service/limits.ts'
import type { TweetService } from '../service/tweet-service.ts'
import { authenticate, bearerSecurity } from './auth.ts'
import { notModified, notModifiedBody, weakTag } from './conditional.ts'
import { errorBody, mediaId, toTweetBody, tweetBody, tweetIdParams, tweetVersion } from './schemas.ts'

// Lengths count Unicode code points, like the VARCHAR(300) column in utf8mb4 does.
const tweetText = z
  .string()
  .refine((text) => text.trim().length > 0, 'must not be empty')
  .refine((text) => codePoints(text) <= maxTweetLength, `must be at most ${maxTweetLength} characters`)
  // JSON Schema counts code points too, so maxLength states the rule exactly.
  .meta({
    minLength: 1,
    maxLength: maxTweetLength,
    description: `At most ${maxTweetLength} characters (Unicode code points), not only spaces`
  })

const mediaIds = z
  .array(mediaId)
  .max(maxTweetMedia, `must hold at most ${maxTweetMedia} media ids`)
  .refine((ids) => new Set(ids).size === ids.length, 'must not repeat an id')
  .meta({ uniqueItems: true })

export const tweetRoutes: FastifyPluginAsyncZod<{ tweetService: TweetService }> = async (app, { tweetService }) => {
  app.post(
    '/tweet',
    {
      onRequest: authenticate,
      config: { accountCheckedByService: true },
      // 300 code points, each at most 12 bytes as a JSON-escaped surrogate pair, plus room.
      bodyLimit: 8 * 1024,
      schema: {
        summary: 'Post a tweet',
        tags: ['tweets'],
        security: bearerSecurity,
        body: z.object({ tweet: tweetText, media_ids: mediaIds.optional() }),
        response: { 200: tweetBody.describe('The stored tweet'), 400: errorBody, 401: errorBody }
      }
    },
    async (request) =>
      toTweetBody(await tweetService.tweet(request.user.user_id, request.body.tweet, request.body.media_ids))
  )

  app.put(
    '/tweet/:id',
    {
      onRequest: authenticate,
      schema: {
        summary: 'Edit your tweet',
        tags: ['tweets'],
        security: bearerSecurity,
        params: tweetIdParams,
        body: z.object({ tweet: tweetText }),
        response: {
          200: tweetBody.describe('The tweet as edited'),
          400: errorBody,
          401: errorBody,
          403: errorBody.describe('Not your tweet'),
          404: errorBody
        }
      }
    },
    async (request) =>
      toTweetBody(await tweetService.editTweet(request.user.user_id, request.params.id, request.body.tweet))
  )

  app.delete(
    '/tweet/:id',
    {
      onRequest: authenticate,
      schema: {
        summary: 'Delete your tweet',
        tags: ['tweets'],
        security: bearerSecurity,
        params: tweetIdParams,
        response: {
          204: z.null().describe('Deleted'),
          401: errorBody,
          403: errorBody.describe('Not your tweet'),
          404: errorBody
        }
      }
    },
    async (request, reply) => {
      await tweetService.deleteTweet(request.user.user_id, request.params.id)
      return reply.code(204).send(null)
    }
  )

  // Idempotent both ways; both answer the tweet as the caller now sees it (retweet_count, retweeted).
  const retweetResponses = {
    200: tweetBody.describe('The retweeted tweet itself, as GET /tweet/:id answers it'),
    400: errorBody,
    401: errorBody,
    404: errorBody.describe('No such tweet (never posted, deleted, or the id of a retweet)')
  }

  app.put(
    '/tweet/:id/retweet',
    {
      onRequest: authenticate,
      schema: {
        summary: 'Retweet a tweet',
        description:
          "Puts the tweet on your followers' timelines, placed by the time of the retweet, with retweeted_by " +
          'naming you; a timeline that already shows the tweet does not show it again. Retweeting twice is one retweet.',
        tags: ['tweets'],
        security: bearerSecurity,
        params: tweetIdParams,
        response: retweetResponses
      }
    },
    async (request) => toTweetBody(await tweetService.retweet(request.user.user_id, request.params.id))
  )

  app.delete(
    '/tweet/:id/retweet',
    {
      onRequest: authenticate,
      schema: {
        summary: 'Undo your retweet',
        description:
          'Takes your retweet off the timelines it reached. Undoing a retweet you have not made changes nothing.',
        tags: ['tweets'],
        security: bearerSecurity,
        params: tweetIdParams,
        response: retweetResponses
      }
    },
    async (request) => toTweetBody(await tweetService.unretweet(request.user.user_id, request.params.id))
  )

  // Conditional GET: an ETag on the read, and 304 while If-None-Match still matches it.
  app.get(
    '/tweet/:id',
    {
      schema: {
        summary: 'One tweet',
        tags: ['tweets'],
        params: tweetIdParams,
        response: {
          200: tweetBody.describe('The tweet, with an ETag'),
          304: notModifiedBody,
          400: errorBody,
          404: errorBody
        }
      }
    },
    async (request, reply) => {
      const item = await tweetService.tweetById(request.params.id)
      if (notModified(request, reply, weakTag(tweetVersion(item)))) return reply.code(304).send(null)
      return toTweetBody(item)
    }
  )
}
