// Media routes: upload (multipart field file), the caller's own paged list, delete and restore.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { MediaService } from '../service/media-service.ts'
import { authenticate, bearerSecurity } from './auth.ts'
import { documentedBody } from './plugins/docs.ts'
import { errorBody, mediaBody, mediaIdParams, nextCursor, pageQuery, toMediaBody } from './schemas.ts'
import { withUploadedFile } from './multipart.ts'

const mediaPage = z
  .object({ media: z.array(mediaBody), next_cursor: nextCursor })
  .describe('A page of your media, newest first')

// For the document only: @fastify/multipart parses the upload, so Fastify never validates this.
const mediaForm = z.object({
  file: z
    .file()
    .describe('An image (PNG, JPEG, GIF, WebP) or audio file (MP3, M4A/AAC, Ogg, WAV, WebM), at most MAX_MEDIA_BYTES')
})

export const mediaRoutes: FastifyPluginAsyncZod<{
  mediaService: MediaService
  /** MAX_MEDIA_BYTES: a larger declared body is refused before it is read. */
  maxBytes: number
}> = async (app, { mediaService, maxBytes }) => {
  app.post(
    '/media',
    {
      onRequest: authenticate,
      config: documentedBody(mediaForm),
      schema: {
        summary: 'Upload an image or audio file (multipart/form-data, file field file)',
        tags: ['media'],
        security: bearerSecurity,
        consumes: ['multipart/form-data'],
        response: {
          201: mediaBody.describe('The stored media item'),
          400: errorBody,
          401: errorBody,
          404: errorBody,
          413: errorBody.describe('The file is larger than MAX_MEDIA_BYTES (20 MiB by default)'),
          415: errorBody.describe('Not an accepted image or audio type (decided by the bytes)')
        }
      }
    },
    async (request, reply) => {
      const item = await withUploadedFile(request, 'file', maxBytes, (file, filename) =>
        mediaService.upload(request.user.user_id, file, filename)
      )
      return reply.code(201).send(toMediaBody(item))
    }
  )

  app.get(
    '/media',
    {
      onRequest: authenticate,
      schema: {
        summary: "The caller's own media, newest first; pass next_cursor as before for the next page",
        tags: ['media'],
        security: bearerSecurity,
        querystring: pageQuery,
        response: { 200: mediaPage, 400: errorBody, 401: errorBody }
      }
    },
    async (request) => {
      const page = await mediaService.mediaOf(request.user.user_id, request.query)
      return { media: page.items.map(toMediaBody), next_cursor: page.next_cursor }
    }
  )

  app.delete(
    '/media/:id',
    {
      onRequest: authenticate,
      schema: {
        summary: 'Delete one of your media items (restorable during MEDIA_GRACE_DAYS)',
        tags: ['media'],
        security: bearerSecurity,
        params: mediaIdParams,
        response: { 204: z.null().describe('Deleted'), 400: errorBody, 401: errorBody, 404: errorBody, 503: errorBody }
      }
    },
    async (request, reply) => {
      await mediaService.delete(request.user.user_id, request.params.id)
      return reply.code(204).send(null)
    }
  )

  app.post(
    '/media/:id/restore',
    {
      onRequest: authenticate,
      schema: {
        summary: 'Restore a media item deleted within the grace period',
        tags: ['media'],
        security: bearerSecurity,
        params: mediaIdParams,
        response: {
          200: mediaBody.describe('The restored media item'),
          400: errorBody,
          401: errorBody,
          404: errorBody.describe('Unknown, not yours, or past its grace period (always, with MEDIA_GRACE_DAYS=0)'),
          409: errorBody.describe('The media item is not deleted')
        }
      }
    },
    async (request) => toMediaBody(await mediaService.restore(request.user.user_id, request.params.id))
  )
}
