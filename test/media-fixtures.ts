// The smallest byte sequences file-type recognises for each accepted media type (real images, since
// uploads are decoded and re-encoded), plus near misses and images that test the re-encoding.
import sharp from 'sharp'

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const text = (s: string) => Buffer.from(s, 'latin1')

/** An 8×4 image of one colour, as sharp's `create` input. */
function pixels(background: string, width = 8, height = 4) {
  return { create: { width, height, channels: 3 as const, background } }
}

export interface Sample {
  bytes: Buffer
  contentType: string
  ext: string
}

export const samples: Record<string, Sample> = {
  jpeg: { bytes: await sharp(pixels('#c33')).jpeg().toBuffer(), contentType: 'image/jpeg', ext: 'jpg' },
  gif: {
    bytes: hex('474946383961010001000000002c00000000010001000002024401003b'),
    contentType: 'image/gif',
    ext: 'gif'
  },
  webp: { bytes: await sharp(pixels('#33c')).webp().toBuffer(), contentType: 'image/webp', ext: 'webp' },
  mp3: {
    bytes: Buffer.concat([text('ID3'), hex('0300 00 00000000 fffb9064'), Buffer.alloc(413)]),
    contentType: 'audio/mpeg',
    ext: 'mp3'
  },
  aac: { bytes: Buffer.concat([hex('fff15080 2f7ffc'), Buffer.alloc(200)]), contentType: 'audio/aac', ext: 'aac' },
  m4a: {
    bytes: Buffer.concat([
      hex('00000020'),
      text('ftypM4A '),
      hex('00000000'),
      text('M4A mp42isom'),
      hex('00000008'),
      text('free')
    ]),
    contentType: 'audio/x-m4a',
    ext: 'm4a'
  },
  ogg: {
    bytes: Buffer.concat([
      text('OggS'),
      hex('00 02 0000000000000000 01000000 00000000 00000000 01 1e 01'),
      text('vorbis'),
      Buffer.alloc(23)
    ]),
    contentType: 'audio/ogg',
    ext: 'ogg'
  },
  opus: {
    bytes: Buffer.concat([
      text('OggS'),
      hex('00 02 0000000000000000 01000000 00000000 00000000 01 13'),
      text('OpusHead'),
      hex('0101 3801 80bb0000 0000 00')
    ]),
    contentType: 'audio/ogg; codecs=opus',
    ext: 'opus'
  },
  wav: {
    bytes: Buffer.concat([
      text('RIFF'),
      hex('24000000'),
      text('WAVEfmt '),
      hex('10000000 0100 0100 44ac0000 88580100 0200 1000'),
      text('data'),
      hex('00000000')
    ]),
    contentType: 'audio/wav',
    ext: 'wav'
  },
  webm: {
    bytes: Buffer.concat([
      hex('1a45dfa3 9f 4286 81 01 42f7 81 01 42f2 81 04 42f3 81 08 4282 84'),
      text('webm'),
      hex('4287 81 04 4285 81 02 18538067 01ffffffffffffff'),
      Buffer.alloc(32)
    ]),
    contentType: 'audio/webm',
    ext: 'webm'
  }
}

/** Recognised by file-type but not accepted: a PDF and an MP4 video. */
export const refused: Record<string, Buffer> = {
  pdf: Buffer.concat([text('%PDF-1.4\n'), Buffer.alloc(64, 0x20)]),
  mp4: Buffer.concat([hex('00000018'), text('ftypisom'), hex('00000200'), text('isomiso2'), Buffer.alloc(16)])
}

/** The datum recorded with the position, findable in the EXIF block as plain text. */
export const gpsDatum = 'WGS-84'

/**
 * A phone photo: an 8×4 JPEG stored sideways with EXIF orientation 6 (shown 4×8) and EXIF that says
 * where it was taken.
 */
export const photoWithGps = await sharp(pixels('#3c3'))
  .jpeg()
  .withExif({
    IFD0: { Make: 'Phone', Model: 'Camera' },
    IFD3: {
      GPSLatitudeRef: 'N',
      GPSLatitude: '37/1 33/1 59/1',
      GPSLongitudeRef: 'E',
      GPSLongitude: '126/1 58/1 40/1',
      GPSMapDatum: gpsDatum
    }
  })
  .withMetadata({ orientation: 6 })
  .toBuffer()

/** A two-frame animated GIF (red, then blue; 8×4 each). */
export const animatedGif = await sharp(
  [await sharp(pixels('#f00')).png().toBuffer(), await sharp(pixels('#00f')).png().toBuffer()],
  {
    join: { animated: true }
  }
)
  .gif({ delay: [100, 100], loop: 0 })
  .toBuffer()

/** A small file that decodes to 3000×3000 pixels: a decompression bomb for a limit below nine million. */
export const largeImage = await sharp(pixels('#fff', 3000, 3000))
  .png()
  .toBuffer()
