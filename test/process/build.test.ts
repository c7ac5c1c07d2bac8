// `npm run build` compiles the server to JavaScript that runs on its own: the compiled entry point
// migrates an empty database, serves the API and its document, with no TypeScript loader.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { createDatabase, dropDatabase, withDatabase } from '../../model/database.ts'
import { testServerUrl, testUploadDir } from '../helper.ts'
import { postJson, startServer } from '../../scripts/support/processes.ts'

const run = promisify(execFile)

t.test('the compiled build serves the API', async (t) => {
  // Inside the project, so the compiled code finds node_modules as dist/ does.
  mkdirSync(join('node_modules', '.cache'), { recursive: true })
  const out = mkdtempSync(join('node_modules', '.cache', 'miniter-build-'))
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  // The same compiler settings as npm run build, written elsewhere so dist/ is left alone.
  const tsc = join('node_modules', 'typescript', 'bin', 'tsc')
  await run(process.execPath, [
    tsc,
    '-p',
    'tsconfig.build.json',
    '--outDir',
    out,
    '--tsBuildInfoFile',
    join(out, '.tsbuildinfo')
  ])
  cpSync('migrations', join(out, 'migrations'), { recursive: true })
  t.ok(existsSync(join(out, 'setup.js')), 'setup.js is compiled')

  const server = await testServerUrl()
  const name = `miniter_test_${randomBytes(6).toString('hex')}`
  await createDatabase(server, name)
  t.teardown(() => dropDatabase(server, name))

  const app = await startServer({
    env: { DATABASE_URL: withDatabase(server, name), UPLOAD_DIR: await testUploadDir(t), LOG_LEVEL: 'info' },
    args: ['--enable-source-maps', join(out, 'setup.js')]
  })
  t.teardown(() => {
    app.child.kill('SIGTERM')
    return app.exited
  })
  t.match(app.output(), /Miniter is listening/)
  const migrations = readdirSync('migrations').filter((file) => file.endsWith('.up.sql')).length
  t.match(app.output(), `"migrations_applied":${migrations}`, 'the compiled migrator found and applied every migration')
  const signUp = await postJson(`${app.url}/sign-up`, {
    name: 'Built',
    email: 'built@example.com',
    password: 'password123'
  })
  t.equal(signUp.status, 200)
  const document = await fetch(`${app.url}/docs/json`)
  t.equal(document.status, 200)
  t.equal(((await document.json()) as { info: { title: string } }).info.title, 'Miniter')
})
