// Upload fixtures for tests and load scripts: a small valid PNG and a multipart/form-data body around a file.
import { randomBytes } from 'node:crypto'
import sharp from 'sharp'

/**
 * A valid PNG (1×1 transparent pixel) as sharp writes it: metadata stripping re-encodes it to the same
 * bytes, so it is stored byte for byte.
 */
export const pngBytes = await sharp({
  create: { width: 1, height: 1, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } }
})
  .png()
  .toBuffer()

/** A multipart/form-data body with one file part. */
export function multipart(field: string, filename: string, contentType: string, bytes: Buffer) {
  const boundary = `----miniter${randomBytes(8).toString('hex')}`
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\n` +
      `Content-Type: ${contentType}\r\n\r\n`
  )
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  return {
    payload: Buffer.concat([head, bytes, tail]),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }
  }
}
