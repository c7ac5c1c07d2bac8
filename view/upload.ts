// Reading one uploaded file from a multipart/form-data request, for the upload routes.
import type { Readable } from 'node:stream'
import type { FastifyRequest } from 'fastify'
import { Invalid, ServiceError } from '../service/errors.ts'

/** A malformed body is the client's mistake: busboy reports it as a plain Error, answered 400 here. */
function asClientError(error: unknown): unknown {
  if (error instanceof ServiceError || typeof (error as { statusCode?: unknown }).statusCode === 'number') return error
  return new Invalid(`Malformed multipart/form-data body: ${(error as Error).message}`)
}

/** Hands the stream of the file in multipart field `field` to `handle`. */
export async function withUploadedFile<T>(
  request: FastifyRequest,
  field: string,
  handle: (file: Readable, filename: string) => Promise<T>
): Promise<T> {
  let part: Awaited<ReturnType<FastifyRequest['file']>>
  try {
    part = await request.file()
  } catch (error) {
    throw asClientError(error)
  }
  if (!part) throw new Invalid(`A file is required in the multipart field ${field}`, { field })
  if (part.fieldname !== field) {
    part.file.resume()
    throw new Invalid(`The file must be sent in the multipart field ${field}`, { field })
  }
  let bodyError: unknown
  part.file.on('error', (error) => {
    bodyError = error
  })
  try {
    return await handle(part.file, part.filename)
  } catch (error) {
    // A body that breaks off mid-file fails the storage write too; the body is the cause to report.
    throw bodyError === undefined ? error : asClientError(bodyError)
  }
}
