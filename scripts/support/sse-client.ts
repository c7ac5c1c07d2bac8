// Test support: a Server-Sent Events client over a real connection of its own (no pooled connections that
// would outlive it), keeping every event and comment it reads.
import { request, type ClientRequest, type IncomingMessage } from 'node:http'

export interface SseEvent {
  event?: string
  id?: string
  data?: string
  comment?: string
}

export class SseClient {
  readonly events: SseEvent[] = []
  status = 0
  /** Resolves when the server ends the stream (or the connection breaks). */
  readonly ended: Promise<void>
  private waiters: (() => void)[] = []

  private constructor(
    private readonly request: ClientRequest,
    private readonly response: IncomingMessage
  ) {
    this.status = response.statusCode ?? 0
    this.ended = this.read()
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers, agent: false }, (response) => resolve(new SseClient(req, response)))
      req.on('error', reject)
      req.end()
    })
  }

  /** Drops the connection from the client's side. */
  close(): void {
    this.request.destroy()
  }

  /** The events (not comments) named `event`, data parsed. */
  data<T = unknown>(event: string): T[] {
    return this.events.filter((e) => e.event === event).map((e) => JSON.parse(e.data ?? 'null') as T)
  }

  /** Waits until `check` holds over what was read, at most `ms`; answers whether it did. */
  async until(check: (client: SseClient) => boolean, ms = 5_000): Promise<boolean> {
    const deadline = Date.now() + ms
    while (!check(this)) {
      const left = deadline - Date.now()
      if (left <= 0) return false
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    return true
  }

  private async read(): Promise<void> {
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of this.response) {
        buffer += decoder.decode(chunk as Buffer, { stream: true })
        let end: number
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const event: SseEvent = {}
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) event.comment = line.slice(1).trim()
            else {
              const colon = line.indexOf(':')
              const field = line.slice(0, colon)
              const value = line.slice(colon + 1).replace(/^ /, '')
              if (field === 'event' || field === 'id' || field === 'data') event[field] = value
            }
          }
          this.events.push(event)
        }
        this.wake()
      }
    } catch {
      // Aborted by close(), or the connection broke: the stream has ended either way.
    }
    this.wake()
  }

  private wake(): void {
    const waiters = this.waiters
    this.waiters = []
    for (const waiter of waiters) waiter()
  }
}
