// Sign-up and login (the book's /sign-up and /login), logging out, and changing the password.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { isPasswordLength, maxEmailLength, maxPasswordBytes, minPasswordBytes } from '../service/limits.ts'
import type { PersonalTokenService } from '../service/personal-token-service.ts'
import type { UserService } from '../service/user-service.ts'
import type { LoginThrottle } from './plugins/login-throttle.ts'
import type { SignUpThrottle } from './plugins/sign-up-throttle.ts'
import { errorBody, profileText, rowId, toUserBody, userBody, userName, username, usernameRule } from './schemas.ts'
import { authenticate, bearerSecurity, loginTokenOnly } from './auth.ts'

// Trimmed and lower-cased before the format check (a check, not a pipe, so the document says format: email).
const email = z
  .string()
  .trim()
  .toLowerCase()
  .check(z.email('must be a valid email address'))
  .max(maxEmailLength, `must be at most ${maxEmailLength} characters`)

// bcrypt reads 72 bytes, so the rule is in UTF-8 bytes; the document's maxLength (characters) bounds it too,
// since no character takes less than a byte.
const passwordBytes = `${minPasswordBytes}–${maxPasswordBytes} bytes in UTF-8`
const password = z
  .string()
  .refine(isPasswordLength, `must be ${passwordBytes} (bcrypt’s limit; longer is rejected, never truncated)`)
  .meta({ maxLength: maxPasswordBytes, description: `${passwordBytes} (bcrypt’s limit)` })

const signUpBody = z.object({
  name: userName,
  email,
  password,
  profile: profileText.default(''),
  // The book's clients send none: one is generated from the email (README, POST /sign-up).
  username: username
    .optional()
    .describe(
      `Optional: ${usernameRule}. Without it one is made from the email’s local part (each run of other ` +
        'characters becomes one _), with a numeric suffix if taken'
    )
})

const loginBody = z.object({
  email,
  password: z.string().min(1, 'must not be empty').max(1024, 'is too long')
})

export interface UserRouteOptions {
  userService: UserService
  throttleSignUp: SignUpThrottle
  throttleLogin: LoginThrottle
  personalTokenService: PersonalTokenService
}

export const accountRoutes: FastifyPluginAsyncZod<UserRouteOptions> = async (
  app,
  { userService, throttleSignUp, throttleLogin, personalTokenService }
) => {
  app.post(
    '/sign-up',
    {
      // Sized for the schema's limits, with room for JSON escapes.
      bodyLimit: 16 * 1024,
      onRequest: throttleSignUp.onRequest,
      schema: {
        summary: 'Create an account',
        tags: ['users'],
        body: signUpBody,
        response: {
          200: userBody.describe('The new account'),
          400: errorBody,
          409: errorBody.describe('The email or the chosen username is taken: `field` says which')
        }
      }
    },
    async (request, reply) =>
      toUserBody(await userService.signUp(request.body, throttleSignUp.admission(request, reply)))
  )

  app.post(
    '/login',
    {
      bodyLimit: 8 * 1024,
      onRequest: throttleLogin.onRequest,
      preHandler: throttleLogin.preHandler,
      schema: {
        summary: 'Exchange email and password for an access token',
        tags: ['users'],
        body: loginBody,
        response: {
          200: z
            .object({ user_id: rowId, access_token: z.string() })
            .describe('An access token, for the Authorization header of authenticated routes'),
          400: errorBody,
          401: errorBody.describe('Wrong email or password (the same answer for both)')
        }
      }
    },
    async (request) => userService.login(request.body.email, request.body.password)
  )

  app.post(
    '/logout',
    {
      onRequest: authenticate,
      schema: {
        summary: 'Revoke the token this request carries',
        description:
          'The token answers 401 everywhere from now on, on every instance; the account’s other tokens keep working.',
        tags: ['users'],
        security: bearerSecurity,
        response: { 204: z.null().describe('Revoked'), 401: errorBody }
      }
    },
    async (request, reply) => {
      const { user_id, personal_token, jti, exp } = request.user
      // A personal access token logs itself out: it is revoked, like DELETE /tokens/:id.
      if (personal_token) await personalTokenService.revoke(user_id, personal_token.id)
      else await userService.logout(user_id, jti, new Date(exp * 1000))
      return reply.code(204).send(null)
    }
  )

  app.post(
    '/logout-all',
    {
      onRequest: [authenticate, loginTokenOnly],
      schema: {
        summary: 'Revoke every token of the account',
        description:
          'Every token issued so far, this one included, answers 401 from now on; log in again for a new one.',
        tags: ['users'],
        security: bearerSecurity,
        response: { 204: z.null().describe('Revoked'), 401: errorBody }
      }
    },
    async (request, reply) => {
      await userService.logoutAll(request.user.user_id)
      return reply.code(204).send(null)
    }
  )

  app.put(
    '/users/me/password',
    {
      bodyLimit: 8 * 1024,
      onRequest: [authenticate, loginTokenOnly],
      preHandler: throttleLogin.passwordChange,
      schema: {
        summary: 'Change your password',
        description:
          'Needs the current password (403 when wrong, throttled like login). Every other token of the account ' +
          'stops working; the answer carries a new one.',
        tags: ['users'],
        security: bearerSecurity,
        body: z.object({ current_password: loginBody.shape.password, new_password: password }).strict(),
        response: {
          200: z
            .object({ user_id: rowId, access_token: z.string() })
            .describe('A new access token; those issued before no longer work'),
          400: errorBody,
          401: errorBody,
          403: errorBody.describe('The current password is wrong'),
          429: errorBody
        }
      }
    },
    async (request) =>
      userService.changePassword(request.user.user_id, request.body.current_password, request.body.new_password)
  )

  app.delete(
    '/users/me',
    {
      bodyLimit: 8 * 1024,
      onRequest: [authenticate, loginTokenOnly],
      preHandler: throttleLogin.passwordChange,
      schema: {
        summary: 'Delete your account',
        description:
          'Needs the password (403 when wrong, throttled like login). From the answer on, every token of the ' +
          'account answers 401 and its profile, tweets, likes and follows are gone for everyone; its rows are ' +
          'erased in the background (at once, or after ACCOUNT_GRACE_DAYS, within which logging in restores the ' +
          'account). Once erased, its email and username are free again.',
        tags: ['users'],
        security: bearerSecurity,
        body: z.object({ password: loginBody.shape.password }).strict(),
        response: {
          204: z.null().describe('Deleted'),
          400: errorBody,
          401: errorBody,
          403: errorBody.describe('The password is wrong, or the token is a personal access token'),
          429: errorBody
        }
      }
    },
    async (request, reply) => {
      await userService.deleteAccount(request.user.user_id, request.body.password)
      return reply.code(204).send(null)
    }
  )
}
