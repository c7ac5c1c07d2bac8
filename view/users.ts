// Profiles and the follow graph: /users/me, /users/:user_id (and by username), its followers and following
// lists, its tweets and the tweets it likes.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { FollowService } from '../service/follow-service.ts'
import type { LikeService } from '../service/like-service.ts'
import type { TweetService } from '../service/tweet-service.ts'
import type { Profile, UserService } from '../service/user-service.ts'
import { authenticate, bearerSecurity, callerId, optionalAuthenticate, optionalBearerSecurity } from './auth.ts'
import { notModified, notModifiedBody, weakTag } from './conditional.ts'
import {
  errorBody,
  listedUserBody,
  nextCursor,
  prevCursor,
  twoWayPageQuery,
  pageQuery,
  profileBody,
  profileText,
  relationshipBody,
  rowId,
  toProfileBody,
  toListedUserBody,
  toTweetBody,
  tweetBody,
  tweetVersion,
  userIdParams,
  userName,
  username,
  usernameParams
} from './schemas.ts'

const profileChanges = z
  .object({ name: userName.optional(), profile: profileText.optional(), username: username.optional() })
  .strict()
  .refine(
    (body) => body.name !== undefined || body.profile !== undefined || body.username !== undefined,
    'give name, profile or username (any of them)'
  )

const relationshipNote =
  'With a token, `relationship` says how you stand towards the user (following, followed_by, blocking, ' +
  'blocked_by, muting); without one it is absent.'
const publicProfileBody = profileBody
  .extend({ relationship: relationshipBody.optional() })
  .describe('The profile, without the email')

const userListBody = z.object({ user_id: rowId, users: z.array(listedUserBody), next_cursor: nextCursor })

const likedTweetsBody = z
  .object({ user_id: rowId, tweets: z.array(tweetBody), next_cursor: nextCursor, prev_cursor: prevCursor })
  .describe('A page of the tweets the user likes, newest like first; the cursors are like ids, not tweet ids')
const authorTweetsBody = z
  .object({ user_id: rowId, tweets: z.array(tweetBody), next_cursor: nextCursor, prev_cursor: prevCursor })
  .describe('A page of the user’s own tweets and replies, newest first, with an ETag')

export const userRoutes: FastifyPluginAsyncZod<{
  userService: UserService
  followService: FollowService
  likeService: LikeService
  tweetService: TweetService
}> = async (app, { userService, followService, likeService, tweetService }) => {
  app.get(
    '/users/me',
    {
      onRequest: authenticate,
      schema: {
        summary: 'Your own profile, with your email',
        tags: ['users'],
        security: bearerSecurity,
        response: { 200: profileBody.describe('Your profile, with your email'), 401: errorBody }
      }
    },
    async (request) => toProfileBody(await userService.profile(request.user.user_id, true))
  )

  app.put(
    '/users/me',
    {
      onRequest: authenticate,
      schema: {
        summary: 'Change your name, profile text or username',
        description: 'Changing only the case of your username is allowed; another user’s username is not.',
        tags: ['users'],
        security: bearerSecurity,
        body: profileChanges,
        response: {
          200: profileBody.describe('Your profile as changed'),
          400: errorBody,
          401: errorBody,
          409: errorBody.describe('Another user has this username (whatever its case): `field` is "username"')
        }
      }
    },
    async (request) => toProfileBody(await userService.updateProfile(request.user.user_id, request.body))
  )

  // With a token, how the caller stands towards the user; read alongside the profile.
  const withRelationship = async (profile: Profile, caller: number | undefined) =>
    caller === undefined
      ? toProfileBody(profile)
      : { ...toProfileBody(profile), relationship: await followService.relationship(caller, profile.id) }

  app.get(
    '/users/:user_id',
    {
      onRequest: optionalAuthenticate,
      schema: {
        summary: 'A public profile',
        description: relationshipNote,
        tags: ['users'],
        security: optionalBearerSecurity,
        params: userIdParams,
        response: {
          200: publicProfileBody,
          400: errorBody,
          401: errorBody.describe('A token was given and is not valid'),
          404: errorBody
        }
      }
    },
    async (request) => withRelationship(await userService.profile(request.params.user_id, false), callerId(request))
  )

  // A static segment: find-my-way tries it before /users/:user_id, so no user id or username is shadowed.
  app.get(
    '/users/by-username/:username',
    {
      onRequest: optionalAuthenticate,
      schema: {
        summary: 'A public profile, by username',
        description: `The username is matched whatever its case; the answer is GET /users/:user_id’s. ${relationshipNote}`,
        tags: ['users'],
        security: optionalBearerSecurity,
        params: usernameParams,
        response: {
          200: publicProfileBody,
          400: errorBody.describe('The path holds no valid username'),
          401: errorBody.describe('A token was given and is not valid'),
          404: errorBody
        }
      }
    },
    async (request) => withRelationship(await userService.profileByUsername(request.params.username), callerId(request))
  )

  for (const list of ['followers', 'following'] as const) {
    app.get(
      `/users/:user_id/${list}`,
      {
        onRequest: optionalAuthenticate,
        schema: {
          summary: list === 'followers' ? 'Who follows this user' : 'Whom this user follows',
          description:
            'Highest user id first; `?before=` takes the previous page’s next_cursor. With a token, each entry’s ' +
            '`following` says whether you follow that user, and users who block you or whom you block are ' +
            'left out (a page may then hold fewer than `limit`); without one, `following` is false.',
          tags: ['follow'],
          security: optionalBearerSecurity,
          params: userIdParams,
          querystring: pageQuery,
          response: {
            200: userListBody.describe(list === 'followers' ? 'A page of followers' : 'A page of followed users'),
            400: errorBody,
            401: errorBody,
            404: errorBody
          }
        }
      },
      async (request) => {
        const page = await followService[list](request.params.user_id, request.query, callerId(request))
        return {
          user_id: request.params.user_id,
          users: page.items.map(toListedUserBody),
          next_cursor: page.next_cursor
        }
      }
    )
  }

  app.get(
    '/users/:user_id/likes',
    {
      onRequest: optionalAuthenticate,
      schema: {
        summary: 'The tweets a user likes',
        description:
          'Newest like first. `?before=` takes the previous page’s next_cursor, the id of its last like; `?after=` ' +
          'a prev_cursor, for the likes newer than it (paged like timelines). With a ' +
          'token, each tweet’s `liked` and `retweeted` say whether the caller likes or retweeted it; without one they are false.',
        tags: ['likes'],
        security: optionalBearerSecurity,
        params: userIdParams,
        querystring: twoWayPageQuery,
        response: {
          200: likedTweetsBody,
          400: errorBody,
          401: errorBody.describe('A token was given and is not valid'),
          404: errorBody
        }
      }
    },
    async (request) => {
      const page = await likeService.likedTweets(request.params.user_id, request.query, callerId(request))
      return {
        user_id: request.params.user_id,
        tweets: page.items.map(toTweetBody),
        next_cursor: page.next_cursor,
        prev_cursor: page.prev_cursor
      }
    }
  )

  // Conditional GET like the timelines: the tag comes from the page's tweets, before any body is built.
  app.get(
    '/users/:user_id/tweets',
    {
      onRequest: optionalAuthenticate,
      schema: {
        summary: "A user's own tweets and replies",
        description:
          'Newest first, without the user’s retweets, paged like timelines (`?before=` next_cursor, `?after=` ' +
          'prev_cursor). With a token, each ' +
          'tweet’s `liked` and `retweeted` say whether the caller likes or retweeted it; without one they are false.',
        tags: ['tweets'],
        security: optionalBearerSecurity,
        params: userIdParams,
        querystring: twoWayPageQuery,
        response: {
          200: authorTweetsBody,
          304: notModifiedBody,
          400: errorBody,
          401: errorBody.describe('A token was given and is not valid'),
          404: errorBody
        }
      }
    },
    async (request, reply) => {
      const userId = request.params.user_id
      const page = await tweetService.tweetsBy(userId, request.query, callerId(request))
      const version = `${userId} ${page.next_cursor} ${page.prev_cursor} ${page.items.map(tweetVersion).join(' ')}`
      if (notModified(request, reply, weakTag(version))) return reply.code(304).send(null)
      return {
        user_id: userId,
        tweets: page.items.map(toTweetBody),
        next_cursor: page.next_cursor,
        prev_cursor: page.prev_cursor
      }
    }
  )
}
