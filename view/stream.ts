// The live stream of a home timeline as Server-Sent Events: GET /stream with a token in the Authorization
// header, or with a one-time ticket from POST /stream/ticket (browsers' EventSource cannot send headers).
// Tokens are never accepted in a URL.
import type { FastifyReply } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { Invalid, Unauthorized } from '../service/errors.ts'
import type { StreamMessage, StreamService, StreamSink } from '../service/stream-service.ts'
import { authenticate, bearerSecurity, callerId, optionalAuthenticate } from './auth.ts'
import { errorBody } from './schemas.ts'

export interface StreamRouteSettings {
  /** Bytes written to a client and not yet taken by it, beyond which the client is dropped. */
  maxBufferedBytes: number
  /** Milliseconds an EventSource waits before it reconnects (the `retry:` field). */
  retryMs: number
}

/** One message in the text/event-stream format; data is JSON on one line. */
export function formatMessage({ event, data, id, comment }: StreamMessage): string {
  if (comment !== undefined) return `: ${comment}\n\n`
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}

/** Writes to the response; a client whose unread bytes pass the limit is reported as too slow. */
function sinkOf(reply: FastifyReply, maxBufferedBytes: number): StreamSink {
  const raw = reply.raw
  return {
    send(message) {
      if (raw.destroyed || raw.writableEnded) return false
      raw.write(formatMessage(message))
      return raw.writableLength <= maxBufferedBytes
    },
    close() {
      // The connection goes with the stream once what was written is flushed: a stopping server waits for
      // none. (The response lets go of its socket when it ends: take it first.)
      const socket = raw.socket
      if (!raw.writableEnded) raw.end()
      socket?.destroySoon()
    }
  }
}

const lastEventId = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a timeline cursor (the id of the last event received)')
  .transform(Number)

export const streamRoutes: FastifyPluginAsyncZod<{
  streamService: StreamService
  settings: StreamRouteSettings
}> = async (app, { streamService, settings }) => {
  app.post(
    '/stream/ticket',
    {
      onRequest: authenticate,
      schema: {
        summary: 'A one-time ticket for GET /stream',
        description:
          'For browsers, whose EventSource cannot send an Authorization header: `GET /stream?ticket=…` accepts ' +
          'it once, within `expires_in` seconds, on any instance.',
        tags: ['stream'],
        security: bearerSecurity,
        response: {
          200: z
            .object({ ticket: z.string(), expires_in: z.number().int().min(1).describe('Seconds') })
            .describe('A ticket for one stream, shown once'),
          401: errorBody
        }
      }
    },
    async (request) => streamService.issueTicket(request.user.user_id)
  )

  app.get(
    '/stream',
    {
      onRequest: optionalAuthenticate,
      // A stream lasts as long as its client: no handler deadline.
      config: { waitsOnNothing: true },
      schema: {
        summary: 'Your home timeline, live (Server-Sent Events)',
        description:
          'Authenticated by the Authorization header or by `?ticket=` (POST /stream/ticket); a token in the URL ' +
          'is refused. Events: `tweet` (a new item of the home timeline, the body GET /timeline gives it, ' +
          'with `id:` its timeline cursor), `delete` (`{"id"}` of a deleted tweet), `notification` (the body ' +
          'GET /notifications gives it), `resync` (more was missed than a resume sends: read GET /timeline ' +
          'again). A comment every STREAM_HEARTBEAT. `Last-Event-ID` resumes after that cursor. README ' +
          '"Live stream" has the limits.',
        tags: ['stream'],
        security: [{ bearerAuth: [] }, { streamTicket: [] }],
        querystring: z.object({ ticket: z.string().min(1).max(100).optional() }).strict(),
        headers: z.object({ 'last-event-id': lastEventId.optional() }),
        response: {
          200: z.string().describe('text/event-stream'),
          400: errorBody,
          401: errorBody,
          429: errorBody.describe('Too many open streams for this user on this instance'),
          503: errorBody.describe('This instance is stopping')
        }
      }
    },
    async (request, reply) => {
      const { ticket } = request.query
      const caller = callerId(request)
      if (caller !== undefined && ticket !== undefined) {
        throw new Invalid('Send a token or a ticket, not both', { field: 'ticket' })
      }
      const userId = caller ?? (ticket === undefined ? undefined : await streamService.redeemTicket(ticket))
      if (userId === undefined) {
        throw new Unauthorized('A stream needs an Authorization header or a ticket (POST /stream/ticket)')
      }
      // Refused (429, 503) before anything is sent; from here on the answer is written by hand.
      const stream = streamService.open(userId, sinkOf(reply, settings.maxBufferedBytes))
      reply.hijack()
      request.raw.on('close', () => stream.close())
      reply.raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // A stream's connection ends with it: nothing else is sent on it, and a stopping server waits for none.
        connection: 'close',
        // nginx must pass events on as they come, not buffer them.
        'x-accel-buffering': 'no'
      })
      reply.raw.write(`retry: ${settings.retryMs}\n\n`)
      try {
        await stream.start(request.headers['last-event-id'])
      } catch (error) {
        const { statusCode = 500, message = 'The stream could not be opened' } = error as {
          statusCode?: number
          message?: string
        }
        if (statusCode >= 500) request.log.error({ err: error }, 'stream: could not open')
        reply.raw.write(`event: error\ndata: ${JSON.stringify({ message, status: statusCode })}\n\n`)
        stream.close()
      }
    }
  )
}
