// Media routes: upload (multipart field file), the caller's own paged list, delete and restore.
import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { Invalid } from '../service/errors.ts'
import type { MediaItem, MediaService } from '../service/media-service.ts'
import { authenticate, bearerSecurity } from './auth.ts'
import { absoluteUrl, errorBody, id, timestamp } from './schemas.ts'

const mediaBody = z.object({
  id: z.number().int(),
  url: z.url(),
  content_type: z.string(),
  size: z.number().int(),
  original_name: z.string().nullable(),
  created_at: timestamp
})

const mediaPage = z.object({ media: z.array(mediaBody), next_cursor: z.number().int().nullable() })

const pageQuery = z.object({
  limit: z.coerce
    .number({ error: 'must be an integer from 1 to 100' })
    .int('must be an integer from 1 to 100')
    .min(1, 'must be an integer from 1 to 100')
    .max(100, 'must be an integer from 1 to 100')
    .default(20),
  before: id.optional()
})

const mediaParams = z.object({ id })

export const mediaRoutes: FastifyPluginAsyncZod<{ mediaService: MediaService; publicUrl?: string }> = async (
  app,
  { mediaService, publicUrl }
) => {
  const toMediaBody = (request: FastifyRequest, item: MediaItem): z.infer<typeof mediaBody> => ({
    id: item.id,
    url: absoluteUrl(request, item.url, publicUrl),
    content_type: item.content_type,
    size: item.size,
    original_name: item.original_name,
    created_at: item.created_at.toISOString()
  })

  app.post(
    '/media',
    {
      onRequest: authenticate,
      schema: {
        summary: 'Upload an image or audio file (multipart/form-data, file field file)',
        tags: ['media'],
        security: bearerSecurity,
        consumes: ['multipart/form-data'],
        response: { 201: mediaBody, 400: errorBody, 401: errorBody, 404: errorBody, 413: errorBody, 415: errorBody }
      }
    },
    async (request, reply) => {
      const file = await request.file()
      if (!file) throw new Invalid('A file is required in the multipart field file', { field: 'file' })
      if (file.fieldname !== 'file') {
        file.file.resume()
        throw new Invalid('The file must be sent in the multipart field file', { field: 'file' })
      }
      const item = await mediaService.upload(request.user.user_id, file.file, file.filename)
      return reply.code(201).send(toMediaBody(request, item))
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
      return { media: page.media.map((item) => toMediaBody(request, item)), next_cursor: page.next_cursor }
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
        params: mediaParams,
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
        params: mediaParams,
        response: { 200: mediaBody, 400: errorBody, 401: errorBody, 404: errorBody, 409: errorBody }
      }
    },
    async (request) => toMediaBody(request, await mediaService.restore(request.user.user_id, request.params.id))
  )
}
