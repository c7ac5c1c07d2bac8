// Decides an upload's type from its first bytes (never from its name or declared type) and enforces
// its size cap while passing the stream on, so nothing is held whole in memory.
import { PassThrough, Transform, pipeline, type Readable } from 'node:stream'
import { fileTypeStream } from 'file-type'
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
// whether or not it has a picture, so the caller decides what to call it.
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

function sizeLimit(maxBytes: number): Transform {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length
      if (seen > maxBytes) {
        callback(new PayloadTooLarge(`File is larger than the ${maxBytes} byte limit`, { max_bytes: maxBytes }))
      } else {
        callback(null, chunk)
      }
    }
  })
}

export async function sniff(body: Readable, allowed: Record<string, string>, maxBytes: number): Promise<SniffedUpload> {
  const detecting = await fileTypeStream(body)
  const detected = detecting.fileType
  const ext = detected && allowed[detected.mime]
  if (!detected || !ext) {
    detecting.destroy()
    body.resume()
    throw new UnsupportedMediaType(
      `Unsupported file type${detected ? ` ${detected.mime}` : ''}; allowed: ${Object.keys(allowed).join(', ')}`,
      { allowed: Object.keys(allowed) }
    )
  }
  const stream = pipeline(detecting, sizeLimit(maxBytes), new PassThrough(), () => {})
  return { stream, mime: detected.mime, ext }
}
