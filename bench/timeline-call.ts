// The one place the benchmark calls the app's timeline code, so reference (a) runs exactly the app's
// queries (the app's own composition root, TweetService and its DAOs) and answers the same JSON, minus Fastify.
import { pino } from 'pino'
import { buildServices } from '../app.ts'
import { loadConfig } from '../config.ts'
import { toTweetBody } from '../view/schemas.ts'

export async function timelineReader(
  databaseUrl: string,
  origin: string
): Promise<{
  read: (userId: number, limit: number, viewerId?: number) => Promise<unknown>
  close: () => Promise<void>
}> {
  // File URLs on the server's own origin, as the app under test has them (PUBLIC_URL).
  const config = { ...loadConfig({ PUBLIC_URL: origin }), databaseUrl }
  const services = await buildServices(config, pino({ level: 'silent' }))
  const read = async (userId: number, limit: number, viewerId?: number) => {
    // A caller with a token: the app checks the account and the token's revocation first, in one query
    // (view/auth.ts), and so does (a).
    if (viewerId !== undefined && (await services.userService.tokenStatus(viewerId, 0, undefined)) !== 'valid') {
      throw new Error('no such account, or its tokens are revoked')
    }
    const page = await services.tweetService.timelineFor(userId, { limit }, viewerId)
    return {
      user_id: userId,
      timeline: page.items.map((item) => toTweetBody(item)),
      next_cursor: page.next_cursor,
      prev_cursor: page.prev_cursor
    }
  }
  return { read, close: () => services.close() }
}
