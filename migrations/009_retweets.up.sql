-- Retweets: a retweet is a row of tweets naming the tweet it repeats (retweet_of), with empty text; it
-- travels to the retweeter's followers like a tweet, and a home timeline shows each tweet at most once
-- however many of its entries would show it (docs/performance.md "Retweets").
ALTER TABLE tweets
  ADD COLUMN retweet_of BIGINT UNSIGNED NULL,
  -- Live retweets of this tweet, moved in the transaction that really adds or removes one.
  ADD COLUMN retweet_count INT UNSIGNED NOT NULL DEFAULT 0,
  -- One retweet per user and tweet (NULLs never collide, so tweets are unconstrained). retweet_of first:
  -- it also serves the foreign key and its cascade, a page's flags (one entry per tweet and caller) and
  -- the retweets of a tweet by given accounts.
  ADD UNIQUE KEY tweets_retweet (retweet_of, user_id),
  -- Deleting a tweet deletes its retweets, and with them their timeline entries.
  ADD CONSTRAINT tweets_retweet_of FOREIGN KEY (retweet_of) REFERENCES tweets (id) ON DELETE CASCADE;

-- What an entry shows: the retweeted tweet for a retweet's entry (original_id), else its own tweet.
-- shown_id is filled by its default (not a generated column: MySQL refuses a stored generated column
-- over tweet_id, whose foreign key cascades), so every existing INSERT IGNORE now also skips an entry
-- showing what the timeline already shows, and ordinary inserts need no change.
ALTER TABLE timeline_entries
  ADD COLUMN original_id BIGINT UNSIGNED NULL,
  ADD COLUMN shown_id BIGINT UNSIGNED NOT NULL DEFAULT (COALESCE(original_id, tweet_id)),
  ADD UNIQUE KEY timeline_entries_shown (owner_id, shown_id);

-- A retweet's fan-out row carries the retweeted tweet. A 'restore' row follows an undone retweet: the
-- retweeter's followers whose entry for tweet_id went with it get back another entry that shows it (the
-- original, or another followee's retweet), if they still have one to show.
ALTER TABLE fanout_outbox
  ADD COLUMN original_id BIGINT UNSIGNED NULL,
  ADD COLUMN kind ENUM('copy', 'restore') NOT NULL DEFAULT 'copy';
