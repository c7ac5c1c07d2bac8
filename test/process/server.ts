// Runs the real server (setup.ts) as a child process on a free port, for tests of the whole process.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { freePort } from '../../model/database-server.ts'

export { freePort }

export interface ServerProcess {
  url: string
  child: ChildProcess
  output: () => string
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<number | string | null>
}

export const testSecret = randomBytes(32).toString('hex')

/** `args`: what node runs; the TypeScript entry through tsx unless a test runs the compiled build. */
export async function startServer(
  env: Record<string, string>,
  port?: number,
  args: string[] = ['--import', 'tsx', 'setup.ts']
): Promise<ServerProcess> {
  const listenPort = port ?? (await freePort())
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      BCRYPT_ROUNDS: '4',
      JWT_SECRET: testSecret,
      HOST: '127.0.0.1',
      PORT: String(listenPort),
      PUBLIC_URL: `http://127.0.0.1:${listenPort}`,
      ...env
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal))
  )
  const url = `http://127.0.0.1:${listenPort}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`server exited during start-up:\n${output}`)
    }
    try {
      if ((await fetch(`${url}/ping`)).ok) break
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`server did not start within 60s:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return { url, child, output: () => output, exited }
}

export async function postJson(url: string, body: unknown, token?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: token } : {}) },
    body: JSON.stringify(body)
  })
}

/**
 * Runs setup.ts with a command to its end, or kills it after `killAfterMs` (its code is then 'SIGKILL');
 * its exit code and output.
 */
export async function runSetup(
  args: string[],
  env: NodeJS.ProcessEnv,
  killAfterMs = 90_000
): Promise<{ code: number | string | null; stdout: string; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'setup.ts', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
  child.once('exit', () => clearTimeout(timer))
  let stdout = ''
  let output = ''
  child.stdout.on('data', (chunk) => ((stdout += chunk), (output += chunk)))
  child.stderr.on('data', (chunk) => (output += chunk))
  // 'close', not 'exit': the output is complete only once the pipes have closed.
  const code = await new Promise<number | string | null>((resolve) =>
    child.once('close', (exitCode, signal) => resolve(exitCode ?? signal))
  )
  return { code, stdout, output }
}
