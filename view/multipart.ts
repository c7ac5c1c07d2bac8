// Reading one uploaded file from a multipart/form-data request, for the upload routes. Every fault of
// the body itself (oversized, truncated, malformed) is answered 4xx here, whichever route reads it.
import { PassThrough, type Readable } from 'node:stream'
import fastifyMultipart, { type MultipartFile } from '@fastify/multipart'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Invalid, PayloadTooLarge, ServiceError } from '../service/errors.ts'

// Room for the multipart framing around the file: boundaries, part headers, the odd small field.
const framingAllowance = 64 * 1024

/**
 * Multipart parsing (and its per-request hooks) for the scope of the upload routes only. `largestFile` is the
 * larger of the routes' caps: the parser stops one byte over it, so each service's own check answers 413.
 */
export async function registerMultipart(scope: FastifyInstance, largestFile: number): Promise<void> {
  await scope.register(fastifyMultipart, {
    limits: { fileSize: largestFile + 1, files: 1, fields: 10, parts: 20, fieldSize: 1024 },
    throwFileSizeLimit: true
  })
}

/** What busboy's plain Errors mean, in words a client can act on. */
function describeMalformed(error: Error): string {
  if (/Boundary not found/i.test(error.message)) return 'the Content-Type header has no boundary parameter'
  if (/Unexpected end|terminated early/i.test(error.message)) {
    return 'the body ended before its closing boundary (truncated, or no part delimited by the boundary)'
  }
  return error.message
}

/** A body that breaks the multipart rules is the client's mistake: 400, naming the problem. */
function asClientError(error: unknown): unknown {
  if (error instanceof ServiceError || typeof (error as { statusCode?: unknown }).statusCode === 'number') return error
  return new Invalid(`Malformed multipart/form-data body: ${describeMalformed(error as Error)}`)
}

function tooLarge(maxBytes: number, what: string): PayloadTooLarge {
  return new PayloadTooLarge(`${what} is larger than the ${maxBytes} byte limit`, { max_bytes: maxBytes })
}

/** A declared length no accepted upload can have is refused before a byte of the body is read. */
function refuseDeclaredOversize(request: FastifyRequest, maxBytes: number): void {
  const declared = Number(request.headers['content-length'])
  if (declared > maxBytes + framingAllowance) throw tooLarge(maxBytes, `The upload of ${declared} bytes`)
}

/**
 * Hands the stream of the file in multipart field `field` (at most `maxBytes`, which the handler's own
 * size check enforces) to `handle`. The stream ends only once the whole body has been parsed: if the
 * body breaks off, even after the file's last byte, the stream fails with a 400 instead, so nothing is
 * stored from a truncated request.
 */
export async function withUploadedFile<T>(
  request: FastifyRequest,
  field: string,
  maxBytes: number,
  handle: (file: Readable, filename: string) => Promise<T>
): Promise<T> {
  refuseDeclaredOversize(request, maxBytes)
  const parts = request.parts()
  let part: MultipartFile | undefined
  try {
    for (let next = await parts.next(); !next.done; next = await parts.next()) {
      if (next.value.type === 'file') {
        part = next.value
        break
      }
    }
  } catch (error) {
    throw asClientError(error)
  }
  if (!part) throw new Invalid(`A file is required in the multipart field ${field}`, { field })
  if (part.fieldname !== field) {
    throw new Invalid(`The file must be sent in the multipart field ${field}`, { field })
  }

  // The body may have broken off before this handler runs (it was parsed as it arrived), and then
  // the part's 'error' event has already been emitted.
  if (part.file.errored) throw asClientError(part.file.errored)
  const file = new PassThrough()
  part.file.on('error', (error: Error) => file.destroy(asClientError(error) as Error))
  part.file.on('end', () => {
    // Cut off at the multipart limit (the largest cap of all upload routes): too large here too.
    if (part.file.truncated) return file.destroy(tooLarge(maxBytes, 'File'))
    restOfBody(parts).then(
      () => file.end(),
      (error: { code?: string }) =>
        file.destroy(
          error.code === 'FST_FILES_LIMIT'
            ? new Invalid(`Send one file only, in the multipart field ${field}`, { field })
            : (asClientError(error) as Error)
        )
    )
  })
  part.file.pipe(file, { end: false })
  try {
    return await handle(file, part.filename)
  } catch (error) {
    // A storage write or a service step may fail in its own words when the body broke off under it.
    const isClientError = ((error as { statusCode?: number }).statusCode ?? 500) < 500
    throw file.errored && !isClientError ? file.errored : error
  }
}

/** Reads the parts after the file (small fields, ignored) up to the closing boundary. */
async function restOfBody(parts: AsyncIterator<unknown>): Promise<void> {
  while (!(await parts.next()).done);
}
