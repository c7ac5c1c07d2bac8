// Test support: checks the invariants that multi-step writes must keep (after the crash and fuzz tests):
// each query counts the rows breaking one invariant, so a healthy database answers all zeros once the
// fan-out backlog has drained (fanout_pending).
import type { Pool, RowDataPacket } from 'mysql2/promise'

const checks = {
  tweets_count_mismatch: `
    SELECT COUNT(*) AS n FROM users u
     WHERE u.tweets_count <> (SELECT COUNT(*) FROM tweets t WHERE t.user_id = u.id AND t.retweet_of IS NULL)`,
  follow_counts_mismatch: `
    SELECT COUNT(*) AS n FROM users u
     WHERE u.followers_count <> (SELECT COUNT(*) FROM users_follow_list f WHERE f.follow_user_id = u.id)
        OR u.following_count <> (SELECT COUNT(*) FROM users_follow_list f WHERE f.user_id = u.id)`,
  // A retweet is on its retweeter's timeline and its followers' as the tweet it repeats (through its own
  // entry, or another that shows the same tweet). Below the author's gap in their own timeline (migrations/006
  // makes one from a horizon; an adopted book database has one) the timeline reads the tweets directly.
  tweets_missing_from_author_timeline: `
    SELECT COUNT(*) AS n FROM tweets t
      LEFT JOIN timeline_gaps g ON g.owner_id = t.user_id AND g.author_id = t.user_id
     WHERE t.id >= COALESCE(g.below_id, 0)
       AND NOT EXISTS (SELECT 1 FROM timeline_entries e
                        WHERE e.owner_id = t.user_id AND e.shown_id = COALESCE(t.retweet_of, t.id))`,
  pushed_tweets_missing_from_followers: `
    SELECT COUNT(*) AS n FROM tweets t
      JOIN users a ON a.id = t.user_id AND a.fanout = 'push'
      JOIN users_follow_list f ON f.follow_user_id = t.user_id
      LEFT JOIN timeline_gaps g ON g.owner_id = f.user_id AND g.author_id = f.follow_user_id
     WHERE t.id >= COALESCE(g.below_id, 0)
       AND NOT EXISTS (SELECT 1 FROM timeline_entries e
                        WHERE e.owner_id = f.user_id AND e.shown_id = COALESCE(t.retweet_of, t.id))`,
  timeline_entries_without_follow: `
    SELECT COUNT(*) AS n FROM timeline_entries e
     WHERE e.owner_id <> e.author_id
       AND NOT EXISTS (SELECT 1 FROM users_follow_list f WHERE f.user_id = e.owner_id AND f.follow_user_id = e.author_id)`,
  // No foreign key names an entry's owner (migrations/002): erasing an account must take its home timeline.
  timeline_entries_without_owner: `
    SELECT COUNT(*) AS n FROM timeline_entries e WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = e.owner_id)`,
  timeline_horizon_mismatch: `
    SELECT COUNT(*) AS n FROM users u
     WHERE u.timeline_horizon <> (SELECT COALESCE(MAX(g.below_id), 0) FROM timeline_gaps g WHERE g.owner_id = u.id)`,
  fanout_pending: `SELECT COUNT(*) AS n FROM fanout_outbox`,
  pulled_follows_mismatch: `
    SELECT COUNT(*) AS n FROM users u
     WHERE u.pulled_following_count <> (SELECT COUNT(*) FROM pulled_follows p WHERE p.user_id = u.id)`,
  like_count_mismatch: `
    SELECT COUNT(*) AS n FROM tweets t
     WHERE t.like_count <> (SELECT COUNT(*) FROM likes l WHERE l.tweet_id = t.id)`,
  reply_count_mismatch: `
    SELECT COUNT(*) AS n FROM tweets p
      LEFT JOIN (SELECT in_reply_to, COUNT(*) AS replies FROM tweets WHERE in_reply_to IS NOT NULL GROUP BY in_reply_to) r
        ON r.in_reply_to = p.id
     WHERE p.reply_count <> COALESCE(r.replies, 0)`,
  // Every reply hangs on a tweet (not a retweet), a deleted reply's tombstone, or its thread's (deleted) root.
  replies_without_parent: `
    SELECT COUNT(*) AS n FROM tweets t
     WHERE t.in_reply_to IS NOT NULL AND t.in_reply_to <> t.conversation_id
       AND NOT EXISTS (SELECT 1 FROM tweets p WHERE p.id = t.in_reply_to AND p.retweet_of IS NULL)
       AND NOT EXISTS (SELECT 1 FROM tweet_tombstones d WHERE d.id = t.in_reply_to)`,
  retweet_count_mismatch: `
    SELECT COUNT(*) AS n FROM tweets t
     WHERE t.retweet_count <> (SELECT COUNT(*) FROM tweets r WHERE r.retweet_of = t.id)`,
  // Every entry shows what its row is: a tweet itself, or the tweet a retweet repeats; never a retweet
  // of a retweet.
  entries_showing_the_wrong_tweet: `
    SELECT COUNT(*) AS n FROM timeline_entries e JOIN tweets t ON t.id = e.tweet_id
     WHERE NOT (e.original_id <=> t.retweet_of) OR e.shown_id <> COALESCE(t.retweet_of, t.id)
        OR EXISTS (SELECT 1 FROM tweets o WHERE o.id = t.retweet_of AND o.retweet_of IS NOT NULL)`,
  follows_across_block: `
    SELECT COUNT(*) AS n FROM users_follow_list f
     WHERE EXISTS (SELECT 1 FROM blocks b WHERE (b.user_id = f.user_id AND b.blocked_id = f.follow_user_id)
                                             OR (b.user_id = f.follow_user_id AND b.blocked_id = f.user_id))`,
  // Search finds every tweet whose text holds a word, and never a retweet's row (migrations/014's triggers).
  tweet_words_mismatch: `
    SELECT COUNT(*) AS n FROM tweets t
     WHERE (t.retweet_of IS NOT NULL AND EXISTS (SELECT 1 FROM tweet_words w WHERE w.tweet_id = t.id))
        OR (t.retweet_of IS NULL AND t.tweet REGEXP '[[:alnum:]]'
            AND NOT EXISTS (SELECT 1 FROM tweet_words w WHERE w.tweet_id = t.id))`
} as const

export type Invariant = keyof typeof checks

/** What violations() answers for whole data: every invariant at zero. */
export const noViolations = Object.fromEntries(Object.keys(checks).map((name) => [name, 0])) as Record<Invariant, 0>

// Every table that holds user data, for fingerprint().
const dataTables = [
  'users',
  'tweets',
  'users_follow_list',
  'timeline_entries',
  'timeline_gaps',
  'pulled_follows',
  'media',
  'tweet_media',
  'fanout_outbox',
  'likes',
  'tweet_tombstones',
  'blocks',
  'mutes',
  'notifications',
  'tweet_words',
  'revoked_tokens',
  'personal_tokens'
]

export class ConsistencyDao {
  constructor(private readonly pool: Pool) {}

  /** A checksum per data table: equal fingerprints mean nothing stored has changed. */
  async fingerprint(): Promise<Record<string, number>> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`CHECKSUM TABLE ${dataTables.join(', ')}`)
    return Object.fromEntries(rows.map((row) => [String(row.Table).split('.').pop() ?? '', Number(row.Checksum)]))
  }

  /** Rows breaking each invariant; all zeros when the data is whole. */
  async violations(): Promise<Record<Invariant, number>> {
    const result = {} as Record<Invariant, number>
    for (const [name, sql] of Object.entries(checks) as [Invariant, string][]) {
      const [rows] = await this.pool.query<RowDataPacket[]>(sql)
      result[name] = Number(rows[0].n)
    }
    return result
  }
}
