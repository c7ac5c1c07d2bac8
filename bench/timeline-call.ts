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
  // File URLs on the server's own origin, as the app under test has them (PUBLIC_URL).
  const core = await createCore({ ...loadConfig({ PUBLIC_URL: origin }), databaseUrl }, quiet)
  const read = async (userId: number, limit: number) => {
    const page = await core.tweetService.timelineFor(userId, { limit })
    return {
      user_id: userId,
      timeline: page.items.map((item) => toTweetBody(item)),
      next_cursor: page.next_cursor
    }
  }
  return { read, close: () => core.close() }
}
