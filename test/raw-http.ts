// An HTTP/1.1 client on a bare socket, for what fetch and inject hide: a client that keeps sending
// after it has been answered, several requests on one connection, and whether the server closed it.
import { connect, type Socket } from 'node:net'

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

export class RawConnection {
  readonly socket: Socket
  /** Settles when the socket has closed, whoever closed it. */
  readonly closed: Promise<void>
  private received = Buffer.alloc(0)
  private wake: () => void = () => {}
  private feeder?: NodeJS.Timeout

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1')
    this.socket.on('data', (chunk) => {
      this.received = Buffer.concat([this.received, chunk])
      this.wake()
    })
    // Writing to a connection the server has closed fails (EPIPE, ECONNRESET); 'close' follows.
    this.socket.on('error', () => {})
    this.closed = new Promise((resolve) =>
      this.socket.on('close', () => {
        clearInterval(this.feeder)
        this.wake()
        resolve()
      })
    )
  }

  write(bytes: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes)
  }

  /** Writes `chunk` every few milliseconds until the socket closes or stopSending() is called. */
  keepSending(chunk: Buffer): void {
    this.feeder = setInterval(() => this.write(chunk), 2)
  }

  stopSending(): void {
    clearInterval(this.feeder)
  }

  /** Writes `body` in `pieces` parts with `delayMs` between them, as a slow client does. */
  async writeSlowly(body: Buffer, pieces: number, delayMs: number): Promise<void> {
    const size = Math.ceil(body.length / pieces)
    for (let offset = 0; offset < body.length; offset += size) {
      this.write(body.subarray(offset, offset + size))
      await new Promise((resolve) => setTimeout(resolve, delayMs))
    }
  }

  /** The next whole response on the connection (one with a Content-Length, as the API sends). */
  async response(): Promise<RawResponse> {
    for (;;) {
      const headEnd = this.received.indexOf('\r\n\r\n')
      if (headEnd >= 0) {
        const [statusLine, ...lines] = this.received.subarray(0, headEnd).toString('latin1').split('\r\n')
        const headers: Record<string, string> = {}
        for (const line of lines) {
          const colon = line.indexOf(':')
          headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
        }
        const end = headEnd + 4 + Number(headers['content-length'] ?? 0)
        if (this.received.length >= end) {
          const body = this.received.subarray(headEnd + 4, end).toString('utf8')
          this.received = this.received.subarray(end)
          return { status: Number(statusLine.split(' ')[1]), headers, body }
        }
      }
      if (this.socket.destroyed) throw new Error('the connection closed before a whole response arrived')
      await new Promise<void>((resolve) => (this.wake = resolve))
    }
  }

  close(): void {
    clearInterval(this.feeder)
    this.socket.destroy()
  }
}

/** Resolves with `promise`, or rejects naming `what` if it takes longer than `ms` (a failure guard). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** A request head (request line, Host and `headers`, blank line) for a raw connection. */
export function requestHead(method: string, url: string, headers: Record<string, string | number>): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`)
  return `${method} ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.join('')}\r\n`
}

/** `body` in HTTP/1.1 chunked encoding, final chunk included: how a client streams without a length. */
export function chunked(body: Buffer): Buffer {
  return body.length === 0
    ? Buffer.from('0\r\n\r\n')
    : Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')])
}
