// Child servers for the runner: started on a free port, awaited until /ping answers, sampled for RSS,
// and always killed, whether the run ends, fails or is interrupted.
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { freePort } from '../model/database-server.ts'

export { freePort }

const run = promisify(execFile)
const children = new Set<ChildProcess>()

function killAll(): void {
  for (const child of children) child.kill('SIGKILL')
}

let installed = false

/** Kills every child server when the runner exits, crashes or gets ctrl-c. */
export function killChildrenOnExit(): void {
  if (installed) return
  installed = true
  process.on('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping the benchmark servers\n`)
      killAll()
      process.exit(130)
    })
  }
}

export interface ServerProcess {
  name: string
  pid: number
  origin: string
  /** Resident memory in bytes, or undefined once the process is gone. */
  rss(): Promise<number | undefined>
  stop(): Promise<void>
}

export interface StartOptions {
  name: string
  /** Arguments after `node`. */
  args: string[]
  env: Record<string, string>
  readyTimeoutMs?: number
}

/** Starts `node …args` with PORT set, and resolves once GET /ping answers 200. */
export async function startServer({ name, args, env, readyTimeoutMs = 60_000 }: StartOptions): Promise<ServerProcess> {
  killChildrenOnExit()
  const port = await freePort()
  const child = spawn(process.execPath, args, {
    env: { ...process.env, PUBLIC_URL: `http://127.0.0.1:${port}`, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  children.add(child)
  // The last few KiB of output explain a failed start without flooding the report.
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4096)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)))
  void exited.then(() => children.delete(child))

  const origin = `http://127.0.0.1:${port}`
  const deadline = Date.now() + readyTimeoutMs
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited during start-up (code ${child.exitCode ?? child.signalCode}):\n${output}`)
    }
    if (await answers(`${origin}/ping`)) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`${name} did not answer /ping within ${readyTimeoutMs / 1000}s:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }

  return {
    name,
    pid: child.pid!,
    origin,
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
