// GET /search/users and GET /search/tweets: public, newest first, paged below `before`; with a token,
// what the caller is shown (nobody blocked either way, `following` and the tweets' flags filled).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { maxSearchLength, minSearchLength } from '../service/limits.ts'
import type { SearchService } from '../service/search-service.ts'
import { callerId, optionalAuthenticate, optionalBearerSecurity } from './auth.ts'
import {
  errorBody,
  listedUserBody,
  nextCursor,
  pageQuery,
  toListedUserBody,
  toTweetBody,
  tweetBody
} from './schemas.ts'

const searchQuery = pageQuery.extend({
  q: z
    .string({ error: 'q is required' })
    .describe(`What to look for: ${minSearchLength}–${maxSearchLength} characters (trimmed)`)
})

export const searchRoutes: FastifyPluginAsyncZod<{ searchService: SearchService }> = async (app, { searchService }) => {
  app.get(
    '/search/users',
    {
      onRequest: optionalAuthenticate,
      schema: {
        summary: 'Find people by username or name',
        description:
          'Users whose username or name starts with `q`, whatever the case (a leading `@` is ignored; Korean ' +
          'names too), highest user id first; `?before=` takes the previous page’s next_cursor. With a token, ' +
          'each entry’s `following` is filled and users blocked either way are left out.',
        tags: ['search'],
        security: optionalBearerSecurity,
        querystring: searchQuery,
        response: {
          200: z.object({ users: z.array(listedUserBody), next_cursor: nextCursor }).describe('A page of users'),
          400: errorBody,
          401: errorBody
        }
      }
    },
    async (request) => {
      const page = await searchService.users(request.query.q, request.query, callerId(request))
      return { users: page.items.map(toListedUserBody), next_cursor: page.next_cursor }
    }
  )

  app.get(
    '/search/tweets',
    {
      onRequest: optionalAuthenticate,
      schema: {
        summary: 'Find tweets by their words',
        description:
          'Tweets holding every word of `q` (up to 10), each as the start of a word of theirs, whatever the ' +
          'case: `세계` finds `세계를`, `run` finds `running`. Newest first; `?before=` takes the previous ' +
          'page’s next_cursor (a tweet id). With a token, tweets of users blocked either way are left out and ' +
          '`liked` and `retweeted` are filled.',
        tags: ['search'],
        security: optionalBearerSecurity,
        querystring: searchQuery,
        response: {
          200: z.object({ tweets: z.array(tweetBody), next_cursor: nextCursor }).describe('A page of tweets'),
          400: errorBody,
          401: errorBody
        }
      }
    },
    async (request) => {
      const page = await searchService.tweets(request.query.q, request.query, callerId(request))
      return { tweets: page.items.map(toTweetBody), next_cursor: page.next_cursor }
    }
  )
}
