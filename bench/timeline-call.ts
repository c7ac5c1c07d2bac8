// The one place the benchmark calls the app's timeline code, so reference (a) runs exactly the app's
// queries (the app's own composition root, TweetService and its DAOs) and answers the same JSON, minus Fastify.
import { createCore } from '../app.ts'
import { loadConfig } from '../config.ts'
import { toTweetBody } from '../view/schemas.ts'

const quiet = { info() {}, warn() {}, error() {} }

export async function timelineReader(
  databaseUrl: string,
  origin: string
): Promise<{ read: (userId: number, limit: number) => Promise<unknown>; close: () => Promise<void> }> {
  const core = await createCore({ ...loadConfig({}), databaseUrl }, quiet)
  const absolute = (url: string) => (/^https?:\/\//.test(url) ? url : `${origin}${url}`)
  const read = async (userId: number, limit: number) => {
    const page = await core.tweetService.timelineFor(userId, { limit })
    return {
      user_id: userId,
      timeline: page.items.map((item) => toTweetBody(item, absolute)),
      next_cursor: page.next_cursor
    }
  }
  return { read, close: () => core.close() }
}
