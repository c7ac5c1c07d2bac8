// `npm run bench:erase [-- --followers 2000 --tweets 500]`: an account with that many followers (each with
// its tweets on their timelines), likes, retweets and replies is deleted and erased, while its followers
// keep posting. Prints how long the erasure took and the posts' latency before and during it: erasure
// runs in short transactions, so other writes go on meanwhile.
import { parseArgs } from 'node:util'
import { buildServices } from '../app.ts'
import { loadConfig } from '../config.ts'
import { createDatabase, createPool, dropDatabase, withDatabase } from '../model/database.ts'
import { Migrator } from '../model/migrator.ts'
import { benchDatabaseServer } from './dataset.ts'

const { values: args } = parseArgs({
  options: {
    followers: { type: 'string', default: '2000' },
    tweets: { type: 'string', default: '500' },
    help: { type: 'boolean', default: false }
  }
})
if (args.help) {
  process.stdout.write('Usage: npm run bench:erase -- [--followers N (2000)] [--tweets N (500)]\n')
  process.exit(0)
}
const followers = Number(args.followers)
const tweets = Number(args.tweets)
if (!(Number.isSafeInteger(followers) && followers > 0 && Number.isSafeInteger(tweets) && tweets > 0)) {
  throw new Error('--followers and --tweets must be positive integers')
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
const summary = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b)
  return `${sorted.length} posts, p50 ${percentile(sorted, 0.5).toFixed(1)} ms, p99 ${percentile(sorted, 0.99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`
}

async function main(): Promise<void> {
  const server = await benchDatabaseServer()
  const name = `miniter_bench_erase_${process.pid}`
  await createDatabase(server.url, name)
  const databaseUrl = withDatabase(server.url, name)
  try {
    await new Migrator(databaseUrl).up()
    const config = {
      ...loadConfig({
        LOG_LEVEL: 'warn',
        BCRYPT_ROUNDS: '4',
        FANOUT_WORKERS: '0',
        PURGE_INTERVAL: '0',
        ACCOUNT_GRACE_DAYS: '1'
      }),
      databaseUrl
    }
    const services = await buildServices(config)
    const { userService, followService, tweetService, likeService, fanoutService, accountEraser } = services
    try {
      const signUp = async (n: string) =>
        (await userService.signUp({ name: n, email: `${n}@example.com`, password: 'password123', profile: '' })).id
      const started = Date.now()
      const gone = await signUp('gone')
      const fans: number[] = []
      for (let i = 0; i < followers; i++) {
        const fan = await signUp(`fan${i}`)
        await followService.follow(fan, gone)
        if (i < 100) await followService.follow(gone, fan)
        fans.push(fan)
      }
      const fanTweets: number[] = []
      for (let i = 0; i < 200; i++)
        fanTweets.push((await tweetService.tweet(fans[i % fans.length], `fan tweet ${i}`)).id)
      for (let i = 0; i < tweets; i++) {
        const parent = i % 10 === 0 ? fanTweets[i % fanTweets.length] : null
        await tweetService.tweet(gone, `gone tweet ${i}`, [], parent)
      }
      for (const id of fanTweets.slice(0, 100)) {
        await likeService.like(gone, id)
        await tweetService.retweet(gone, id)
      }
      await fanoutService.drain()
      process.stdout.write(
        `seeded in ${((Date.now() - started) / 1000).toFixed(1)} s: ${followers} followers, ${tweets} tweets ` +
          `(${followers * tweets} timeline entries), 100 likes and retweets\n`
      )

      const posting = (ms: number[], until: () => boolean) =>
        (async () => {
          for (let i = 0; !until(); i++) {
            const at = performance.now()
            await tweetService.tweet(fans[(i * 7) % fans.length], `meanwhile ${i}`)
            ms.push(performance.now() - at)
          }
        })()
      const before: number[] = []
      const beforeEnd = Date.now() + 3_000
      await posting(before, () => Date.now() > beforeEnd)

      await userService.deleteAccount(gone, 'password123')
      const pool = createPool(databaseUrl)
      await pool.query('UPDATE users SET erase_after = NOW(3) WHERE id = ?', [gone])
      await pool.end()
      const during: number[] = []
      let done = false
      const erasing = Date.now()
      const load = posting(during, () => done)
      await accountEraser.eraseDue()
      const erasedMs = Date.now() - erasing
      done = true
      await load
      process.stdout.write(
        `erased in ${(erasedMs / 1000).toFixed(1)} s\n` +
          `followers posting before: ${summary(before)}\n` +
          `followers posting during the erasure: ${summary(during)}\n`
      )
    } finally {
      await services.close()
    }
  } finally {
    await dropDatabase(server.url, name)
    await server.stop()
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
