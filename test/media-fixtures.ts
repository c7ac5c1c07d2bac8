// The smallest byte sequences file-type recognises for each accepted media type, plus near misses.
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const text = (s: string) => Buffer.from(s, 'latin1')

export interface Sample {
  bytes: Buffer
  contentType: string
  ext: string
}

export const samples: Record<string, Sample> = {
  jpeg: { bytes: Buffer.concat([hex('ffd8ffe0 0010'), text('JFIF'), Buffer.alloc(64)]), contentType: 'image/jpeg', ext: 'jpg' },
  gif: { bytes: hex('474946383961010001000000002c00000000010001000002024401003b'), contentType: 'image/gif', ext: 'gif' },
  webp: { bytes: Buffer.concat([text('RIFF'), hex('1a000000'), text('WEBPVP8 '), Buffer.alloc(18)]), contentType: 'image/webp', ext: 'webp' },
  mp3: { bytes: Buffer.concat([text('ID3'), hex('0300 00 00000000 fffb9064'), Buffer.alloc(413)]), contentType: 'audio/mpeg', ext: 'mp3' },
  aac: { bytes: Buffer.concat([hex('fff15080 2f7ffc'), Buffer.alloc(200)]), contentType: 'audio/aac', ext: 'aac' },
  m4a: {
    bytes: Buffer.concat([hex('00000020'), text('ftypM4A '), hex('00000000'), text('M4A mp42isom'), hex('00000008'), text('free')]),
    contentType: 'audio/x-m4a',
    ext: 'm4a'
  },
  ogg: {
    bytes: Buffer.concat([text('OggS'), hex('00 02 0000000000000000 01000000 00000000 00000000 01 1e 01'), text('vorbis'), Buffer.alloc(23)]),
    contentType: 'audio/ogg',
    ext: 'ogg'
  },
  opus: {
    bytes: Buffer.concat([text('OggS'), hex('00 02 0000000000000000 01000000 00000000 00000000 01 13'), text('OpusHead'), hex('0101 3801 80bb0000 0000 00')]),
    contentType: 'audio/ogg; codecs=opus',
    ext: 'opus'
  },
  wav: {
    bytes: Buffer.concat([text('RIFF'), hex('24000000'), text('WAVEfmt '), hex('10000000 0100 0100 44ac0000 88580100 0200 1000'), text('data'), hex('00000000')]),
    contentType: 'audio/wav',
    ext: 'wav'
  },
  webm: {
    bytes: Buffer.concat([hex('1a45dfa3 9f 4286 81 01 42f7 81 01 42f2 81 04 42f3 81 08 4282 84'), text('webm'), hex('4287 81 04 4285 81 02 18538067 01ffffffffffffff'), Buffer.alloc(32)]),
    contentType: 'audio/webm',
    ext: 'webm'
  }
}

/** Recognised by file-type but not accepted: a PDF and an MP4 video. */
export const refused: Record<string, Buffer> = {
  pdf: Buffer.concat([text('%PDF-1.4\n'), Buffer.alloc(64, 0x20)]),
  mp4: Buffer.concat([hex('00000018'), text('ftypisom'), hex('00000200'), text('isomiso2'), Buffer.alloc(16)])
}
