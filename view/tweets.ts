// Tweets: the book's POST /tweet (replies too); reading, editing and deleting one tweet at /tweet/:id; its
// thread at /tweet/:id/context; liking it and its likers; retweeting it and undoing that.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import {
  codePoints,
  maxThreadAncestors,
  maxThreadDepth,
  maxThreadDescendants,
  maxTweetLength,
  maxTweetMedia,
  threadScanRows
} from '../service/limits.ts'
import type { LikeService } from '../service/like-service.ts'
import type { TweetService } from '../service/tweet-service.ts'
import { authenticate, bearerSecurity, callerId, optionalAuthenticate, optionalBearerSecurity } from './auth.ts'
import { notModified, notModifiedBody, weakTag } from './conditional.ts'
import {
  errorBody,
  mediaId,
  nextCursor,
  prevCursor,
  rowId,
  threadItemBody,
  toThreadItemBody,
  toTweetBody,
  toListedUserBody,
  tweetBody,
  tweetId,
  tweetIdParams,
  tweetVersion,
  twoWayPageQuery,
  listedUserBody
} from './schemas.ts'

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

const likersBody = z
  .object({ tweet_id: rowId, users: z.array(listedUserBody), next_cursor: nextCursor, prev_cursor: prevCursor })
  .describe('A page of the users who like the tweet, newest like first; the cursors are like ids')

const contextBody = z
  .object({
    ancestors: z
      .array(threadItemBody)
      .describe(
        `The tweets above, oldest first: the nearest ${maxThreadAncestors} at most; past that the oldest are left ` +
          'out, and the first one shown has a non-null in_reply_to'
      ),
    descendants: z
      .array(threadItemBody)
      .describe(
        'The replies below, in thread order (depth first, oldest first among siblings). Capped: found among ' +
          `the ${threadScanRows} tweets of the conversation that follow this one, at most ${maxThreadDepth} ` +
          `levels below it, the oldest ${maxThreadDescendants} of those. Past a cap the thread is cut: a tweet ` +
          'shown with more reply_count than replies shown below it has more'
      )
  })
  .describe(
    'The thread around a tweet. A deleted tweet is {id, deleted: true, in_reply_to} where the thread needs it ' +
      'to keep its shape (it is above this tweet, or above a reply shown); deleted replies with nothing ' +
      'shown below them are left out'
  )

export const tweetRoutes: FastifyPluginAsyncZod<{ tweetService: TweetService; likeService: LikeService }> = async (
  app,
  { tweetService, likeService }
) => {
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
        body: z.object({
          tweet: tweetText,
          media_ids: mediaIds.optional(),
          in_reply_to: tweetId.nullable().optional().describe('The id of the tweet this one replies to')
        }),
        response: {
          200: tweetBody.describe('The stored tweet'),
          400: errorBody,
          401: errorBody,
          404: errorBody.describe('in_reply_to names no tweet (never posted, deleted, or the id of a retweet)')
        }
      }
    },
    async (request) =>
      toTweetBody(
        await tweetService.tweet(
          request.user.user_id,
          request.body.tweet,
          request.body.media_ids,
          request.body.in_reply_to ?? null
        )
      )
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
      onRequest: optionalAuthenticate,
      schema: {
        summary: 'One tweet',
        description:
          'With a token, `liked` and `retweeted` say whether the caller likes or retweeted it; without one they are false.',
        tags: ['tweets'],
        security: optionalBearerSecurity,
        params: tweetIdParams,
        response: {
          200: tweetBody.describe('The tweet, with an ETag'),
          304: notModifiedBody,
          400: errorBody,
          401: errorBody.describe('A token was given and is not valid'),
          404: errorBody
        }
      }
    },
    async (request, reply) => {
      const item = await tweetService.tweetById(request.params.id, callerId(request))
      if (notModified(request, reply, weakTag(tweetVersion(item)))) return reply.code(304).send(null)
      return toTweetBody(item)
    }
  )

  const likeResponses = {
    200: tweetBody.describe('The tweet as you now see it: its like_count and your liked flag'),
    400: errorBody,
    401: errorBody,
    404: errorBody.describe('No such tweet (or it was deleted)')
  }

  app.put(
    '/tweet/:id/like',
    {
      onRequest: authenticate,
      schema: {
        summary: 'Like a tweet',
        description: 'Idempotent: liking a tweet you already like changes nothing.',
        tags: ['likes'],
        security: bearerSecurity,
        params: tweetIdParams,
        response: likeResponses
      }
    },
    async (request) => toTweetBody(await likeService.like(request.user.user_id, request.params.id))
  )

  app.delete(
    '/tweet/:id/like',
    {
      onRequest: authenticate,
      schema: {
        summary: 'Stop liking a tweet',
        description: 'Idempotent: unliking a tweet you do not like changes nothing.',
        tags: ['likes'],
        security: bearerSecurity,
        params: tweetIdParams,
        response: likeResponses
      }
    },
    async (request) => toTweetBody(await likeService.unlike(request.user.user_id, request.params.id))
  )

  app.get(
    '/tweet/:id/likes',
    {
      onRequest: optionalAuthenticate,
      schema: {
        summary: 'Who likes a tweet',
        description:
          'Newest like first. `?before=` takes the previous page’s next_cursor, the id of its last like; ' +
          '`?after=` a prev_cursor, for the likes newer than it (paged like timelines). With a token, each ' +
          'entry’s `following` says whether you follow that user, and users who block you or whom you block ' +
          'are left out; a tweet whose author blocks you or whom you block answers 404.',
        tags: ['likes'],
        security: optionalBearerSecurity,
        params: tweetIdParams,
        querystring: twoWayPageQuery,
        response: { 200: likersBody, 400: errorBody, 401: errorBody, 404: errorBody }
      }
    },
    async (request) => {
      const page = await likeService.likers(request.params.id, request.query, callerId(request))
      return {
        tweet_id: request.params.id,
        users: page.items.map(toListedUserBody),
        next_cursor: page.next_cursor,
        prev_cursor: page.prev_cursor
      }
    }
  )

  app.get(
    '/tweet/:id/context',
    {
      onRequest: optionalAuthenticate,
      schema: {
        summary: 'The thread around a tweet',
        description:
          `Bounded whatever the thread's size: at most ${maxThreadAncestors} ancestors (the nearest); descendants ` +
          `looked for among the ${threadScanRows} tweets of the conversation posted after this one, at most ` +
          `${maxThreadDepth} levels below it, the oldest ${maxThreadDescendants} of those. What lies past a cap is ` +
          'left out (see the fields).',
        tags: ['tweets'],
        security: optionalBearerSecurity,
        params: tweetIdParams,
        response: {
          200: contextBody,
          400: errorBody,
          401: errorBody.describe('A token was given and is not valid'),
          404: errorBody.describe('No such tweet, or it was deleted')
        }
      }
    },
    async (request) => {
      const context = await tweetService.context(request.params.id, callerId(request))
      return {
        ancestors: context.ancestors.map(toThreadItemBody),
        descendants: context.descendants.map(toThreadItemBody)
      }
    }
  )
}
