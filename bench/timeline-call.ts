// The one place the benchmark calls the app's timeline code, so reference (a) runs exactly the app's
// queries (through TweetService and its DAOs) and answers the same JSON, minus Fastify.
import { Transactor, type Pool } from '../model/database.ts'
import { FollowDao } from '../model/follow-dao.ts'
import { TimelineDao } from '../model/timeline-dao.ts'
import { TweetDao } from '../model/tweet-dao.ts'
import { UserDao } from '../model/user-dao.ts'
import { LocalStorage } from '../service/local-storage.ts'
import { TweetService } from '../service/tweet-service.ts'
import { toTweetBody } from '../view/schemas.ts'

export function timelineReader(pool: Pool, origin: string): (userId: number, limit: number) => Promise<unknown> {
  const service = new TweetService(
    new Transactor(pool),
    new TweetDao(pool),
    new TimelineDao(pool),
    new UserDao(pool),
    new FollowDao(pool),
    new LocalStorage('uploads'),
    undefined
  )
  const absolute = (url: string) => (/^https?:\/\//.test(url) ? url : `${origin}${url}`)
  return async (userId, limit) => {
    const page = await service.timelineFor(userId, { limit })
    return {
      user_id: userId,
      timeline: page.items.map((item) => toTweetBody(item, absolute)),
      next_cursor: page.next_cursor
    }
  }
}
