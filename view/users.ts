// Sign-up and login (the book's /sign-up and /login).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { UserService } from '../service/user-service.ts'
import type { LoginThrottle } from './login-throttle.ts'
import type { SignUpThrottle } from './sign-up-throttle.ts'
import { errorBody, toUserBody, userBody } from './schemas.ts'

const email = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email('must be a valid email address').max(255, 'must be at most 255 characters'))

const password = z
  .string()
  .min(8, 'must be at least 8 characters')
  .refine((value) => Buffer.byteLength(value, 'utf8') <= 72, 'must be at most 72 bytes (bcrypt’s limit)')

const signUpBody = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(255, 'must be at most 255 characters'),
  email,
  password,
  profile: z.string().max(2000, 'must be at most 2000 characters').default('')
})

const loginBody = z.object({
  email,
  password: z.string().min(1, 'must not be empty').max(1024, 'is too long')
})

export interface UserRouteOptions {
  userService: UserService
  throttleSignUp: SignUpThrottle
  throttleLogin: LoginThrottle
}

export const userRoutes: FastifyPluginAsyncZod<UserRouteOptions> = async (app, { userService, throttleSignUp, throttleLogin }) => {
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
        response: { 200: userBody, 400: errorBody, 409: errorBody }
      }
    },
    async (request, reply) => toUserBody(await userService.signUp(request.body, throttleSignUp.admission(request, reply)))
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
          200: z.object({ user_id: z.number().int(), access_token: z.string() }),
          400: errorBody,
          401: errorBody
        }
      }
    },
    async (request) => userService.login(request.body.email, request.body.password)
  )
}
