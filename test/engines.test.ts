// npm warns (EBADENGINE) when an installed package wants a newer Node than the one running. The lockfile
// records each package's engines, so this checks every Node version package.json allows, without a network.
import { readFile } from 'node:fs/promises'
import semver from 'semver'
import t from 'tap'

interface Lockfile {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>
}

t.test('every locked package accepts every Node version that package.json allows', async (t) => {
  const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { engines: { node: string } }
  const lock = JSON.parse(await readFile('package-lock.json', 'utf8')) as Lockfile
  const ours = pkg.engines.node
  t.ok(
    semver.satisfies(process.version, ours),
    `the running Node ${process.version} is one package.json allows (${ours})`
  )
  const refusing = Object.entries(lock.packages)
    .filter(([path]) => path !== '')
    .flatMap(([path, entry]) => {
      const wanted = Array.isArray(entry.engines) ? undefined : entry.engines?.node
      if (!wanted || semver.subset(ours, wanted)) return []
      return [`${path.replace(/^.*node_modules\//, '')}@${entry.version} wants node ${wanted}`]
    })
  t.same(refusing, [], 'no package wants a Node version outside package.json engines')
})
