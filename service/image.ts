// Uploaded images are re-encoded in their own format without metadata (EXIF with its GPS position,
// XMP, IPTC, comments, profiles), turned upright first by their EXIF orientation; GIF and WebP keep animation.
import type { Readable } from 'node:stream'
import sharp, { type Sharp } from 'sharp'
import { Invalid, PayloadTooLarge } from './errors.ts'

/** The stripped image: what is stored, and so what its size must be. */
export async function stripImageMetadata(stream: Readable, mime: string, maxPixels: number): Promise<Buffer> {
  // The stream is size-capped upstream (sizeLimit), so this holds at most that many bytes.
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  const input = Buffer.concat(chunks)
  const animated = mime === 'image/gif' || mime === 'image/webp'
  // limitInputPixels refuses a decompression bomb from its header, before any pixel is decoded.
  const options = { animated, autoOrient: true, limitInputPixels: maxPixels }
  try {
    const metadata = await sharp(input, options).metadata()
    return await encode(sharp(input, options), mime, metadata.isPalette).toBuffer()
  } catch (error) {
    if (/pixel limit/.test((error as Error).message)) {
      throw new PayloadTooLarge(
        `Image is larger than the ${maxPixels} pixel limit`,
        { max_pixels: maxPixels },
        { cause: error }
      )
    }
    throw new Invalid('The image could not be decoded', {}, { cause: error })
  }
}

function encode(image: Sharp, mime: string, palette: boolean): Sharp {
  if (mime === 'image/jpeg') return image.jpeg({ quality: 90 })
  if (mime === 'image/png') return image.png({ palette })
  if (mime === 'image/webp') return image.webp({ quality: 90 })
  return image.gif()
}
