-- Likes: one row per (user, tweet), so liking twice is one like. `id` orders them: both lists (a tweet's
-- likers, a user's liked tweets) page newest like first by it. tweets.like_count counts the rows, moved
-- in the transaction that really adds or removes one (service/like-service.ts).
ALTER TABLE tweets ADD COLUMN like_count INT UNSIGNED NOT NULL DEFAULT 0;

CREATE TABLE likes (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  user_id INT UNSIGNED NOT NULL,
  tweet_id BIGINT UNSIGNED NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  -- Also the flags of a page: WHERE user_id = ? AND tweet_id IN (…) reads one entry per tweet.
  PRIMARY KEY (user_id, tweet_id),
  -- InnoDB wants the AUTO_INCREMENT column first in some index.
  UNIQUE KEY likes_id (id),
  -- A user's likes, newest first.
  KEY likes_user_newest (user_id, id),
  -- A tweet's likers, newest first; the cascade when the tweet is deleted.
  KEY likes_tweet_newest (tweet_id, id),
  CONSTRAINT likes_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT likes_tweet FOREIGN KEY (tweet_id) REFERENCES tweets (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
