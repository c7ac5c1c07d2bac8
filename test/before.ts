// Runs once before the test files: makes sure a database server is reachable, starting the private
// instance under .data/ when there is no other. test/after.ts stops it again.
import { writeFile } from 'node:fs/promises'
import { resolveDatabaseServer } from '../model/database-server.ts'

const server = await resolveDatabaseServer(process.env.DATABASE_URL)
if (server.source === 'private instance') {
  await writeFile('.data/started-by-tests', String(process.pid))
}
process.stdout.write(`# tests use the ${server.source}\n`)
