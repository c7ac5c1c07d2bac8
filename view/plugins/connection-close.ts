// Answers sent while the request body is still arriving (401, 413, 415, 429, 400 … to an upload or an
// oversized JSON body) close the connection, so clients that send without `Expect: 100-continue` get
// their answer at once instead of waiting on a connection nobody reads.
import type { IncomingHttpHeaders } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'

/** How long the rest of an unwanted body is read and dropped before the connection is closed anyway. */
const lingerMs = 5_000

export function closeConnectionsLeftUnread(app: FastifyInstance): void {
  // A callback hook, not an async one: it runs on every response, the hottest routes included.
  app.addHook('onSend', (request, reply, payload, done) => {
    // `complete` is false until the last byte of the body has been received: bodies received in full
    // keep the connection alive. A request without a body is complete too, but Node marks it so only
    // after its handler has run when that answers at once (/ping), so it is told apart by its headers.
    // (Injected requests have no connection.)
    if (request.raw.complete === false && hasBody(request.headers)) {
      reply.header('connection', 'close')
      lingerBeforeClosing(request.raw.socket)
      // Nothing reads the body any more: let what still comes be dropped rather than pile up.
      request.raw.unpipe()
      request.raw.resume()
    }
    done(null, payload)
  })
}

function hasBody(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length']
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/**
 * Node ends a `Connection: close` answer with socket.destroySoon(). Closing a socket while the client
 * is still sending makes the kernel reset the connection, and a client that writes its whole body
 * before reading (Python's http.client, many mobile stacks) then reports a broken pipe, never the
 * answer. So close the way HTTP servers do: end our side after the answer, keep dropping what arrives,
 * and close when the client has stopped sending or after lingerMs.
 */
function lingerBeforeClosing(socket: Socket): void {
  socket.destroySoon = function lingeringClose(this: Socket) {
    this.end()
    const timer = setTimeout(() => this.destroy(), lingerMs)
    this.once('end', () => this.destroy())
    this.once('close', () => clearTimeout(timer))
  }
}
