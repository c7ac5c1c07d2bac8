// A TCP proxy between the app and the test database (or Redis) that a test can cut, stall and restore.
import { connect, createServer, type Server, type Socket } from 'node:net'
import { testServerUrl } from './helper.ts'

interface Teardown {
  teardown(fn: () => unknown): void
}

export class DatabaseProxy {
  private readonly sockets = new Set<Socket>()
  private stalled = false

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
    readonly port: number
  ) {}

  /**
   * Listens on a free loopback port, forwarding to the test database server (or to `url`'s server: Redis,
   * for instance); closed at teardown.
   */
  static async start(t: Teardown, to?: string): Promise<DatabaseProxy> {
    const url = new URL(to ?? (await testServerUrl()))
    const target = { host: url.hostname, port: Number(url.port || 3306) }
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const proxy = new DatabaseProxy(server, target, (server.address() as { port: number }).port)
    server.on('connection', (client) => proxy.forward(client))
    t.teardown(() => proxy.close())
    return proxy
  }

  /** The same database URL, reached through this proxy. */
  route(databaseUrl: string): string {
    const url = new URL(databaseUrl)
    url.hostname = '127.0.0.1'
    url.port = String(this.port)
    url.searchParams.delete('socket')
    return url.toString()
  }

  /** The database goes away: open connections are dropped and new ones refused. */
  async cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const socket of this.sockets) socket.destroy()
    await closed
  }

  /** The database hangs: connections stay open, but nothing gets through either way, old or new. */
  stall(): void {
    this.stalled = true
    for (const socket of this.sockets) socket.pause()
  }

  /** Back to normal: listening again, and stalled connections carry on where they stopped. */
  async restore(): Promise<void> {
    this.stalled = false
    for (const socket of this.sockets) socket.resume()
    if (!this.server.listening) {
      await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve))
    }
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private forward(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host)
    for (const [from, to] of [
      [client, upstream],
      [upstream, client]
    ]) {
      this.sockets.add(from)
      if (this.stalled) from.pause()
      from.on('data', (chunk) => to.write(chunk))
      from.on('error', () => to.destroy())
      from.on('close', () => {
        this.sockets.delete(from)
        to.destroy()
      })
    }
  }
}
