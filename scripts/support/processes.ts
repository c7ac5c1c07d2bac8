// The real server (or a benchmark's reference server) as a child process, for tests, the benchmark and
// the load scripts: started on a free port, awaited until /ping answers, sampled for RSS, always killed.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { freePort } from '../../model/database-server.ts'

export { freePort }

const run = promisify(execFile)
const setupTs = fileURLToPath(new URL('../../setup.ts', import.meta.url))

/** A JWT secret the children share with their parent, which can mint tokens with it. */
export const serverSecret = randomBytes(32).toString('hex')

const children = new Set<ChildProcess>()
const killAll = () => {
  for (const child of children) child.kill('SIGKILL')
}
// A parent that exits, normally or by an uncaught error, leaves no server behind.
process.on('exit', killAll)

let signalsHandled = false

/** Also kills every child on ctrl-c, SIGTERM or SIGHUP (long-running runners: the benchmark, soak). */
export function killChildrenOnSignals(): void {
  if (signalsHandled) return
  signalsHandled = true
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping the servers\n`)
      killAll()
      process.exit(130)
    })
  }
}

export interface ServerProcess {
  name: string
  /** http://127.0.0.1:<port> */
  url: string
  child: ChildProcess
  pid: number
  /** What the process wrote to stdout and stderr (the last MiB). */
  output(): string
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<number | string | null>
  /** Resident memory in bytes, or undefined once the process is gone. */
  rss(): Promise<number | undefined>
  /** SIGTERM (a graceful stop), SIGKILL after 15 s; resolves once it has exited. */
  stop(): Promise<void>
}

export interface StartOptions {
  /** Over the defaults: NODE_ENV=production, LOG_LEVEL=warn, BCRYPT_ROUNDS=4, JWT_SECRET=serverSecret. */
  env?: Record<string, string>
  /** What node runs: setup.ts through tsx unless told otherwise (the compiled build, a reference server). */
  args?: string[]
  port?: number
  /** For messages. */
  name?: string
  readyTimeoutMs?: number
}

const outputCap = 1024 * 1024

/** Starts `node …args` on loopback, and resolves once GET /ping answers 200. */
export async function startServer(options: StartOptions = {}): Promise<ServerProcess> {
  const { args = ['--import', 'tsx', setupTs], name = 'server', readyTimeoutMs = 60_000 } = options
  const port = options.port ?? (await freePort())
  const url = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      BCRYPT_ROUNDS: '4',
      JWT_SECRET: serverSecret,
      PUBLIC_URL: url,
      ...options.env,
      HOST: '127.0.0.1',
      PORT: String(port)
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  children.add(child)
  let output = ''
  const keep = (chunk: Buffer) => {
    output += chunk.toString()
    if (output.length > outputCap) output = output.slice(-outputCap)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child)
      resolve(code ?? signal)
    })
  )

  const deadline = Date.now() + readyTimeoutMs
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited during start-up (${child.exitCode ?? child.signalCode}):\n${output}`)
    }
    if (await answers(`${url}/ping`)) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`${name} did not answer /ping within ${readyTimeoutMs / 1000}s:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  return {
    name,
    url,
    child,
    pid: child.pid!,
    output: () => output,
    exited,
    rss: () => residentBytes(child.pid!),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    }
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) })
    await res.arrayBuffer()
    return res.ok
  } catch {
    return false
  }
}

/** VmRSS from /proc on Linux; `ps` elsewhere. */
async function residentBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
    return match ? Number(match[1]) * 1024 : undefined
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT' || process.platform === 'linux') return undefined
  }
  try {
    const { stdout } = await run('ps', ['-o', 'rss=', '-p', String(pid)])
    const kib = Number(stdout.trim())
    return Number.isFinite(kib) && kib > 0 ? kib * 1024 : undefined
  } catch {
    return undefined
  }
}

export interface RssSampler {
  /** Stops sampling; returns the maximum and the last sample, in bytes. */
  stop(): Promise<{ max?: number; end?: number }>
}

export function sampleRss(server: ServerProcess, intervalMs = 250): RssSampler {
  let max: number | undefined
  let last: number | undefined
  const take = async () => {
    const value = await server.rss()
    if (value === undefined) return
    last = value
    max = Math.max(max ?? 0, value)
  }
  void take()
  const timer = setInterval(() => void take(), intervalMs)
  return {
    async stop() {
      clearInterval(timer)
      await take()
      return { max, end: last }
    }
  }
}

/**
 * Runs setup.ts with a command (migrate, purge…) to its end, or kills it after `killAfterMs` (its code is
 * then 'SIGKILL'); its exit code and output.
 */
export async function runSetup(
  args: string[],
  env: NodeJS.ProcessEnv,
  killAfterMs = 90_000
): Promise<{ code: number | string | null; stdout: string; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', setupTs, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  children.add(child)
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
  let stdout = ''
  let output = ''
  child.stdout.on('data', (chunk) => ((stdout += chunk), (output += chunk)))
  child.stderr.on('data', (chunk) => (output += chunk))
  // 'close', not 'exit': the output is complete only once the pipes have closed.
  const code = await new Promise<number | string | null>((resolve) =>
    child.once('close', (exitCode, signal) => resolve(exitCode ?? signal))
  )
  clearTimeout(timer)
  children.delete(child)
  return { code, stdout, output }
}

export async function postJson(url: string, body: unknown, token?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: token } : {}) },
    body: JSON.stringify(body)
  })
}
