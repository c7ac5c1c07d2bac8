// Decides which MySQL/MariaDB server the app and the tests use: DATABASE_URL, else the usual local
// server (root@127.0.0.1:3306), else a private instance started from the installed binary under .data/.
import { spawn, execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { resolve, join } from 'node:path'
import { promisify } from 'node:util'
import { canConnect, withDatabase } from './database.ts'

const run = promisify(execFile)

export const defaultServerUrl = 'mysql://root@127.0.0.1:3306/'

export interface DatabaseServer {
  /** Server URL without a database name. */
  url: string
  /** Where the URL came from, for the start-up log. */
  source: 'DATABASE_URL' | 'local server' | 'private instance'
  /** Stops the private instance if this call started it; otherwise does nothing. */
  stop(): Promise<void>
}

interface PrivateState {
  pid: number
  port: number
}

const searchPath = [
  '/usr/sbin',
  '/usr/bin',
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/libexec',
  '/usr/local/mysql/bin'
]

function findBinary(names: string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...searchPath]
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = join(dir, name)
      if (existsSync(candidate)) return candidate
    }
  }
  return undefined
}

export const missingServerHelp =
  'No MySQL/MariaDB server is reachable and none is installed. Either set DATABASE_URL ' +
  '(mysql://user:pass@host:port/db) to a server you have, start one on 127.0.0.1:3306 that accepts ' +
  'root without a password, or install a server binary so Miniter can run a private one under .data/ ' +
  '(Debian/Ubuntu: `sudo apt-get install mariadb-server`; macOS: `brew install mariadb`).'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A TCP port free on loopback right now (for the private instance, and for tests and scripts). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolvePort(port))
    })
  })
}

function privateUrl(port: number): string {
  return `mysql://root@127.0.0.1:${port}/`
}

async function waitUntilUp(url: string, pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await canConnect(url)) return
    if (!alive(pid)) throw new Error('The private database server exited during start-up; see .data/mysqld.err')
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`The private database server did not answer within ${timeoutMs / 1000}s; see .data/mysqld.err`)
}

async function startPrivate(dataRoot: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const stateFile = join(dataRoot, 'server.json')
  if (existsSync(stateFile)) {
    const state = JSON.parse(await readFile(stateFile, 'utf8')) as PrivateState
    if (alive(state.pid) && (await canConnect(privateUrl(state.port)))) {
      // Someone else (another test file, a running app) owns it: use it, leave it running.
      return { url: privateUrl(state.port), stop: async () => {} }
    }
  }
  const server = findBinary(['mariadbd', 'mysqld'])
  if (!server) throw new Error(missingServerHelp)
  const datadir = join(dataRoot, 'mysql')
  await mkdir(dataRoot, { recursive: true })
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : []
  if (!existsSync(join(datadir, 'mysql'))) {
    const installer = findBinary(['mariadb-install-db', 'mysql_install_db'])
    if (installer) {
      await run(installer, [
        '--no-defaults',
        `--datadir=${datadir}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        ...asRoot
      ])
    } else {
      await run(server, ['--no-defaults', '--initialize-insecure', `--datadir=${datadir}`, ...asRoot])
    }
  }
  const port = await freePort()
  const child = spawn(
    server,
    [
      '--no-defaults',
      `--datadir=${datadir}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${join(dataRoot, 'mysqld.sock')}`,
      `--pid-file=${join(dataRoot, 'mysqld.pid')}`,
      `--log-error=${join(dataRoot, 'mysqld.err')}`,
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_ci',
      '--max-connections=500',
      ...asRoot
    ],
    { detached: true, stdio: 'ignore' }
  )
  child.unref()
  const pid = child.pid!
  await waitUntilUp(privateUrl(port), pid, 60_000)
  await writeFile(stateFile, JSON.stringify({ pid, port } satisfies PrivateState))
  return {
    url: privateUrl(port),
    stop: () => stopPrivateInstance(dataRoot)
  }
}

/** Stops the private instance recorded under dataRoot, if one is running. */
export async function stopPrivateInstance(dataRoot = resolve('.data')): Promise<void> {
  const stateFile = join(dataRoot, 'server.json')
  if (!existsSync(stateFile)) return
  const { pid } = JSON.parse(await readFile(stateFile, 'utf8')) as PrivateState
  if (alive(pid)) process.kill(pid, 'SIGTERM')
  for (let i = 0; i < 240 && alive(pid); i++) await new Promise((r) => setTimeout(r, 250))
  await rm(stateFile, { force: true })
}

export async function resolveDatabaseServer(
  databaseUrl: string | undefined,
  dataRoot = resolve('.data')
): Promise<DatabaseServer> {
  const none = async () => {}
  if (databaseUrl) return { url: withDatabase(databaseUrl, undefined), source: 'DATABASE_URL', stop: none }
  if (await canConnect(defaultServerUrl)) return { url: defaultServerUrl, source: 'local server', stop: none }
  const started = await startPrivate(dataRoot)
  return { ...started, source: 'private instance' }
}
