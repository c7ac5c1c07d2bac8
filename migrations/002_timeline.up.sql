-- Edits, profile counters and the home timeline: a per-user list of tweet ids filled when a tweet is
-- written (fan-out on write), so reading a page costs O(limit) however many tweets exist.
ALTER TABLE tweets
  ADD COLUMN edited_at DATETIME(3) NULL,
  ADD COLUMN media_count TINYINT UNSIGNED NOT NULL DEFAULT 0;

ALTER TABLE users
  ADD COLUMN followers_count INT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN following_count INT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN tweets_count INT UNSIGNED NOT NULL DEFAULT 0,
  -- 'pull': too many followers to copy each tweet to every follower; followers read these tweets directly.
  ADD COLUMN fanout ENUM('push', 'pull') NOT NULL DEFAULT 'push',
  -- The user's timeline_entries hold every pushed tweet with id >= this; older pages are read from the follow graph.
  ADD COLUMN timeline_horizon BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN pulled_following_count INT UNSIGNED NOT NULL DEFAULT 0;

CREATE TABLE timeline_entries (
  owner_id INT UNSIGNED NOT NULL,
  tweet_id BIGINT UNSIGNED NOT NULL,
  author_id INT UNSIGNED NOT NULL,
  PRIMARY KEY (owner_id, tweet_id),
  KEY timeline_entries_owner_author (owner_id, author_id),
  KEY timeline_entries_tweet (tweet_id),
  -- No foreign key on owner_id: checking it would share-lock every follower's users row during a
  -- fan-out, and those rows are exactly what concurrent tweets by the followers lock (deadlocks).
  CONSTRAINT timeline_entries_tweet FOREIGN KEY (tweet_id) REFERENCES tweets (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Follows of 'pull' accounts, so a reader finds the few accounts to read directly without scanning all follows.
CREATE TABLE pulled_follows (
  user_id INT UNSIGNED NOT NULL,
  follow_user_id INT UNSIGNED NOT NULL,
  PRIMARY KEY (user_id, follow_user_id),
  CONSTRAINT pulled_follows_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT pulled_follows_follow FOREIGN KEY (follow_user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

UPDATE users u SET
  u.followers_count = (SELECT COUNT(*) FROM users_follow_list f WHERE f.follow_user_id = u.id),
  u.following_count = (SELECT COUNT(*) FROM users_follow_list f WHERE f.user_id = u.id),
  u.tweets_count = (SELECT COUNT(*) FROM tweets t WHERE t.user_id = u.id);

INSERT INTO timeline_entries (owner_id, tweet_id, author_id)
  SELECT t.user_id, t.id, t.user_id FROM tweets t
  UNION
  SELECT f.user_id, t.id, t.user_id FROM users_follow_list f JOIN tweets t ON t.user_id = f.follow_user_id;
