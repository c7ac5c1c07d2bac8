// Decides an upload's type from its first bytes (never from its name or declared type) and enforces
// its size cap while passing the stream on, so nothing is held whole in memory.
import { Readable, Transform, pipeline } from 'node:stream'
import { fileTypeFromBuffer } from 'file-type'
import { PayloadTooLarge, UnsupportedMediaType } from './errors.ts'

export interface SniffedUpload {
  stream: Readable
  mime: string
  ext: string
}

export const imageTypes: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp'
}

// Keyed by what file-type reports. MPEG layers 1–3 all report audio/mpeg; WebM reports video/webm
// whether or not it has a picture (see reportedType).
export const audioTypes: Record<string, string> = {
  'audio/mpeg': 'mp3',
  'audio/x-m4a': 'm4a',
  'audio/mp4': 'm4a',
  'audio/aac': 'aac',
  'audio/ogg': 'ogg',
  'audio/ogg; codecs=opus': 'opus',
  'audio/wav': 'wav',
  'video/webm': 'webm'
}

// Only audio WebM is accepted, but its magic bytes cannot say so: it is called what clients send, in
// answers and messages alike.
const reportedTypes: Record<string, string> = { 'video/webm': 'audio/webm' }
const reportedType = (mime: string): string => reportedTypes[mime] ?? mime

/** Passes at most `maxBytes` on; one byte more fails the stream with `tooLarge()`. */
export function sizeLimit(
  maxBytes: number,
  tooLarge = () => new PayloadTooLarge(`File is larger than the ${maxBytes} byte limit`, { max_bytes: maxBytes })
): Transform {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length
      if (seen > maxBytes) {
        callback(tooLarge())
      } else {
        callback(null, chunk)
      }
    }
  })
}

// Enough leading bytes for every signature file-type knows (its own "reasonable" sample size).
const sampleBytes = 4100

/** Reads the first bytes, then returns them with a stream that replays them followed by the rest. */
async function peek(body: Readable): Promise<{ head: Buffer; stream: Readable }> {
  const chunks = body[Symbol.asyncIterator]()
  const head: Buffer[] = []
  let length = 0
  let done = false
  while (length < sampleBytes && !done) {
    const next = await chunks.next()
    if (next.done) done = true
    else {
      head.push(next.value as Buffer)
      length += (next.value as Buffer).length
    }
  }
  const headBytes = Buffer.concat(head)
  async function* replay() {
    yield headBytes
    if (done) return
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value as Buffer
  }
  return { head: headBytes, stream: Readable.from(replay(), { objectMode: false }) }
}

export async function sniff(body: Readable, allowed: Record<string, string>, maxBytes: number): Promise<SniffedUpload> {
  const { head, stream } = await peek(body)
  const detected = head.length > 0 ? await fileTypeFromBuffer(head) : undefined
  const ext = detected && allowed[detected.mime]
  if (!detected || !ext) {
    stream.destroy()
    body.resume()
    const names = [...new Set(Object.keys(allowed).map(reportedType))]
    throw new UnsupportedMediaType(
      head.length === 0
        ? 'The file is empty'
        : `Unsupported file type${detected ? ` ${detected.mime}` : ''}; allowed: ${names.join(', ')}`,
      { allowed: names }
    )
  }
  return { stream: pipeline(stream, sizeLimit(maxBytes), () => {}), mime: reportedType(detected.mime), ext }
}
