// The one place the benchmark calls the app's timeline query, so reference (a) follows the DAO when its
// signature changes: adapt this function and nothing else.
import { TweetDao, type TweetRow } from '../model/tweet-dao.ts'
import type { Pool } from '../model/database.ts'

export function timelineReader(pool: Pool): (userId: number, limit: number) => Promise<TweetRow[]> {
  const dao = new TweetDao(pool)
  return (userId, limit) => dao.timeline(userId, limit)
}
