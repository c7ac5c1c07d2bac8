import type { TweetDao, TweetRow } from '../model/tweet-dao.ts'
import type { UserDao } from '../model/user-dao.ts'
import { NotFound } from './errors.ts'

export type { TweetRow }

export class TweetService {
  constructor(
    private readonly tweetDao: TweetDao,
    private readonly userDao: UserDao
  ) {}

  async tweet(userId: number, text: string): Promise<TweetRow> {
    const id = await this.tweetDao.insertTweet(userId, text)
    return (await this.tweetDao.tweetById(id))!
  }

  async timelineFor(userId: number, limit: number): Promise<TweetRow[]> {
    if (!(await this.userDao.exists(userId))) throw new NotFound('User not found', { user_id: userId })
    return this.tweetDao.timeline(userId, limit)
  }
}
