// Personal access tokens for machine clients: POST /tokens (the secret, shown once), GET /tokens, DELETE
// /tokens/:id. Managed with a login token only.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { maxPersonalTokenName, maxPersonalTokens } from '../service/limits.ts'
import type { PersonalToken, PersonalTokenService } from '../service/personal-token-service.ts'
import { authenticate, bearerSecurity, loginTokenOnly } from './auth.ts'
import { errorBody, rowId, timestamp, tokenIdParams } from './schemas.ts'

const tokenBody = z.object({
  id: rowId,
  name: z.string(),
  scopes: z.array(z.enum(['read', 'write'])).describe('["read"], or ["read", "write"]'),
  created_at: timestamp
})

const toTokenBody = (token: PersonalToken): z.infer<typeof tokenBody> => ({
  id: token.id,
  name: token.name,
  scopes: token.scopes,
  created_at: token.created_at.toISOString()
})

const managed = [authenticate, loginTokenOnly]

export const tokenRoutes: FastifyPluginAsyncZod<{ personalTokenService: PersonalTokenService }> = async (
  app,
  { personalTokenService }
) => {
  app.post(
    '/tokens',
    {
      onRequest: managed,
      schema: {
        summary: 'Make a personal access token for a machine client',
        description:
          'Send it as `Authorization: Bearer <token>`, never in a URL. A `read` token gets 403 on every route ' +
          `that writes. The token is in this answer only; at most ${maxPersonalTokens} per account (409).`,
        tags: ['tokens'],
        security: bearerSecurity,
        body: z
          .object({
            name: z.string().describe(`1–${maxPersonalTokenName} characters, to tell your tokens apart`),
            scopes: z.array(z.string()).describe('["read"] or ["read", "write"]')
          })
          .strict(),
        response: {
          201: tokenBody
            .extend({ token: z.string().describe('The secret: shown this once') })
            .describe('The new token, with its secret'),
          400: errorBody,
          401: errorBody,
          403: errorBody,
          409: errorBody
        }
      }
    },
    async (request, reply) => {
      const made = await personalTokenService.create(request.user.user_id, request.body.name, request.body.scopes)
      return reply.code(201).send({ ...toTokenBody(made), token: made.token })
    }
  )

  app.get(
    '/tokens',
    {
      onRequest: managed,
      schema: {
        summary: 'Your personal access tokens, newest first, without their secrets',
        tags: ['tokens'],
        security: bearerSecurity,
        response: {
          200: z.object({ tokens: z.array(tokenBody) }).describe('Your tokens'),
          401: errorBody,
          403: errorBody
        }
      }
    },
    async (request) => ({ tokens: (await personalTokenService.list(request.user.user_id)).map(toTokenBody) })
  )

  app.delete(
    '/tokens/:id',
    {
      onRequest: managed,
      schema: {
        summary: 'Revoke a personal access token',
        tags: ['tokens'],
        security: bearerSecurity,
        params: tokenIdParams,
        response: {
          204: z.null().describe('Revoked: it answers 401 from now on'),
          400: errorBody,
          401: errorBody,
          403: errorBody,
          404: errorBody
        }
      }
    },
    async (request, reply) => {
      await personalTokenService.revoke(request.user.user_id, request.params.id)
      return reply.code(204).send(null)
    }
  )
}
