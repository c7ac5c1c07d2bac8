import t from 'tap'
import { defaultServerUrl, resolveDatabaseServer } from '../../model/database-server.ts'

t.test('resolveDatabaseServer', async (t) => {
  t.test('DATABASE_URL wins, with its database name removed', async (t) => {
    const server = await resolveDatabaseServer('mysql://u:p@db.example:3307/miniter')
    t.equal(server.url, 'mysql://u:p@db.example:3307/')
    t.equal(server.source, 'DATABASE_URL')
  })

  t.test('without DATABASE_URL it finds a reachable server', async (t) => {
    const server = await resolveDatabaseServer(undefined)
    t.ok(['local server', 'private instance'].includes(server.source))
    if (server.source === 'local server') t.equal(server.url, defaultServerUrl)
    await server.stop()
  })
})
