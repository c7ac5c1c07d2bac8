// Stops the private database instance if test/before.ts started it.
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { stopPrivateInstance } from '../model/database-server.ts'

const marker = '.data/started-by-tests'
if (existsSync(marker)) {
  await stopPrivateInstance()
  await rm(marker, { force: true })
}
