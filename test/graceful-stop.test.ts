// The real process (setup.ts) under SIGTERM, with a request in flight that the test holds open.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { request, type IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { freePort } from '../model/database-server.ts'
import { testDatabaseUrl, testUploadDir } from './helper.ts'
import { multipart, pngBytes } from '../scripts/support/uploads.ts'

type LogLine = { msg?: string; req?: { url?: string } }

/** The error code of a fresh TCP connection attempt, or undefined when it was accepted. */
function tryConnect(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(undefined)
    })
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code))
  })
}

t.test(
  'SIGTERM finishes the request in flight, refuses new connections and exits 0',
  { timeout: 60_000 },
  async (t) => {
    const port = await freePort()
    const child = spawn(process.execPath, ['--import', 'tsx', 'setup.ts'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: {
        ...process.env,
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: await testDatabaseUrl(t),
        JWT_SECRET: randomBytes(32).toString('hex'),
        UPLOAD_DIR: await testUploadDir(t),
        BCRYPT_ROUNDS: '4',
        LOG_LEVEL: 'info',
        SHUTDOWN_GRACE_MS: '10000'
      },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL')
    })
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>

    // Resolves with the first log line, past or future, that matches.
    const lines: LogLine[] = []
    const waiting: { match: (line: LogLine) => boolean; resolve: () => void }[] = []
    createInterface({ input: child.stdout }).on('line', (text) => {
      let line: LogLine
      try {
        line = JSON.parse(text)
      } catch {
        return
      }
      lines.push(line)
      for (const waiter of waiting.filter((w) => w.match(line))) waiter.resolve()
    })
    const logged = (match: (line: LogLine) => boolean) =>
      new Promise<void>((resolve) => (lines.some(match) ? resolve() : waiting.push({ match, resolve })))

    await Promise.race([
      logged((line) => line.msg?.startsWith('Server listening') ?? false),
      exited.then(([code]) => {
        throw new Error(`the server exited with ${code} before listening`)
      })
    ])

    const base = `http://127.0.0.1:${port}`
    const credentials = { email: 'alice@example.com', password: 'correct horse battery' }
    const signUp = await fetch(`${base}/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Alice', ...credentials })
    })
    t.equal(signUp.status, 200)
    const login = await fetch(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(credentials)
    })
    const { access_token: token } = (await login.json()) as { access_token: string }

    // An upload whose second half is only sent after SIGTERM: in flight for as long as the test wants.
    const upload = multipart('profile_pic', 'me.png', 'image/png', pngBytes)
    const half = upload.payload.length - 40
    const inFlight = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/profile-picture',
      agent: false,
      headers: { ...upload.headers, authorization: token, 'content-length': upload.payload.length }
    })
    const response = once(inFlight, 'response') as Promise<[IncomingMessage]>
    inFlight.write(upload.payload.subarray(0, half))
    await logged((line) => line.msg === 'incoming request' && line.req?.url === '/profile-picture')

    child.kill('SIGTERM')
    await logged((line) => line.msg?.startsWith('shutting down') ?? false)

    let refusal: string | undefined
    while (!(refusal = await tryConnect(port))) await new Promise((resolve) => setTimeout(resolve, 20))
    // A connection that reached the kernel's accept queue as the listener closed is reset rather than
    // refused: either way it is never served.
    t.match(refusal, /^(ECONNREFUSED|ECONNRESET)$/, 'new connections are refused')
    t.equal(child.exitCode, null, 'while the process waits for the request in flight')

    inFlight.end(upload.payload.subarray(half))
    const [res] = await response
    let body = ''
    for await (const chunk of res) body += chunk
    t.equal(res.statusCode, 200, 'the request in flight completes')
    t.match(JSON.parse(body), { img_url: /\/uploads\/profile\/[0-9a-f-]+\.png$/ })

    const [code, signal] = await exited
    t.equal(signal, null)
    t.equal(code, 0, 'exits 0, within the grace period')
  }
)
