// Profile pictures: multipart upload (field profile_pic), removal and lookup of the URL.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { UserService } from '../service/user-service.ts'
import { authenticate, bearerSecurity } from './auth.ts'
import { withUploadedFile } from './multipart.ts'
import { documentedBody } from './plugins/docs.ts'
import { errorBody, userIdParams } from './schemas.ts'

const imgUrl = z.object({ img_url: z.url() })

// For the document only: @fastify/multipart parses the upload, so Fastify never validates this.
const profilePictureForm = z.object({
  profile_pic: z.file().describe('PNG, JPEG, GIF or WebP image, at most MAX_UPLOAD_BYTES')
})

export const profilePictureRoutes: FastifyPluginAsyncZod<{
  userService: UserService
  /** MAX_UPLOAD_BYTES: a larger declared body is refused before it is read. */
  maxBytes: number
}> = async (app, { userService, maxBytes }) => {
  app.post(
    '/profile-picture',
    {
      onRequest: authenticate,
      config: documentedBody(profilePictureForm),
      schema: {
        summary: 'Upload a profile picture (multipart/form-data, file field profile_pic)',
        tags: ['profile-picture'],
        security: bearerSecurity,
        consumes: ['multipart/form-data'],
        response: {
          200: imgUrl.describe('The stored picture'),
          400: errorBody,
          401: errorBody,
          413: errorBody.describe('The file is larger than MAX_UPLOAD_BYTES (5 MiB by default)'),
          415: errorBody.describe('Not a PNG, JPEG, GIF or WebP image (decided by the bytes)')
        }
      }
    },
    async (request) => {
      const url = await withUploadedFile(request, 'profile_pic', maxBytes, (file) =>
        userService.saveProfilePicture(request.user.user_id, file)
      )
      return { img_url: url }
    }
  )

  app.delete(
    '/profile-picture',
    {
      onRequest: authenticate,
      schema: {
        summary: 'Remove your profile picture and its stored file',
        tags: ['profile-picture'],
        security: bearerSecurity,
        response: { 204: z.null().describe('Removed'), 401: errorBody, 404: errorBody }
      }
    },
    async (request, reply) => {
      await userService.deleteProfilePicture(request.user.user_id)
      return reply.code(204).send(null)
    }
  )

  app.get(
    '/profile-picture/:user_id',
    {
      schema: {
        summary: "A user's profile picture URL",
        tags: ['profile-picture'],
        params: userIdParams,
        response: {
          200: imgUrl.describe("The picture's URL"),
          400: errorBody,
          404: errorBody.describe('No such user, or no picture')
        }
      }
    },
    async (request) => ({ img_url: await userService.profilePictureUrl(request.params.user_id) })
  )
}
