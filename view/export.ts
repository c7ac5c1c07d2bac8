// GET /users/me/export: the caller's data as one JSON document, streamed as it is read (ExportService), so
// its size is not bounded by memory.
import { Readable } from 'node:stream'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { ExportPart, ExportService } from '../service/export-service.ts'
import { authenticate, bearerSecurity } from './auth.ts'
import {
  errorBody,
  listedUserBody,
  mediaBody,
  profileBody,
  timestamp,
  toListedUserBody,
  toMediaBody,
  toProfileBody,
  toTweetBody,
  tweetBody
} from './schemas.ts'

const exportBody = z
  .object({
    exported_at: timestamp,
    profile: profileBody,
    tweets: z.array(tweetBody).describe('Your tweets and replies, newest first'),
    following: z.array(listedUserBody),
    followers: z.array(listedUserBody),
    likes: z.array(tweetBody).describe('The tweets you like, newest like first'),
    media: z.array(mediaBody).describe('Your uploads, with their URLs')
  })
  .describe('Everything the account holds, as a download (Content-Disposition: attachment)')

/** One element of a list, as its route answers it. */
function bodyOf(part: Exclude<ExportPart, { part: 'profile' }>, index: number): unknown {
  switch (part.part) {
    case 'tweets':
    case 'likes':
      return toTweetBody(part.items[index])
    case 'following':
    case 'followers':
      return toListedUserBody(part.items[index])
    case 'media':
      return toMediaBody(part.items[index])
  }
}

/** The document's text, piece by piece: each list opens with its first page and closes when the next begins. */
async function* documentText(parts: AsyncGenerator<ExportPart>): AsyncGenerator<string> {
  let open: string | undefined
  let first = true
  for await (const part of parts) {
    if (part.part === 'profile') {
      yield `{"exported_at":${JSON.stringify(new Date().toISOString())},"profile":${JSON.stringify(toProfileBody(part.profile))}`
      continue
    }
    if (part.part !== open) {
      yield `${open === undefined ? '' : ']'},${JSON.stringify(part.part)}:[`
      open = part.part
      first = true
    }
    for (let i = 0; i < part.items.length; i++) {
      yield `${first ? '' : ','}${JSON.stringify(bodyOf(part, i))}`
      first = false
    }
  }
  yield ']}'
}

export const exportRoutes: FastifyPluginAsyncZod<{ exportService: ExportService }> = async (app, { exportService }) => {
  app.get(
    '/users/me/export',
    {
      onRequest: authenticate,
      schema: {
        summary: 'Download your data',
        description:
          'One JSON document: your profile (with email), tweets, the users you follow and who follow you, the ' +
          'tweets you like and your media (URLs). Streamed as it is read, a page at a time, whatever its size.',
        tags: ['users'],
        security: bearerSecurity,
        response: { 200: exportBody, 401: errorBody, 404: errorBody }
      }
    },
    async (request, reply) => {
      const parts = exportService.export(request.user.user_id)
      // The profile first, before any byte is sent: an account gone meanwhile still answers 404 as JSON.
      const head = await parts.next()
      async function* all(): AsyncGenerator<ExportPart> {
        if (!head.done) yield head.value
        yield* parts
      }
      return (
        reply
          .type('application/json; charset=utf-8')
          .header('content-disposition', 'attachment; filename="miniter-export.json"')
          // A stream is sent as it is (no serializer runs on it): the schema above documents what it carries.
          .send(Readable.from(documentText(all())) as unknown as z.infer<typeof exportBody>)
      )
    }
  )
}
