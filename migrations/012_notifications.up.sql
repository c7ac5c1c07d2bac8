-- Notifications: one row per thing that happened to a user (someone followed them, liked, retweeted or
-- replied to their tweet, mentioned them), written in the transaction of the action and removed with
-- its source (an unfollow, unlike or undone retweet deletes it; a deleted tweet cascades).
CREATE TABLE notifications (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  -- Whom it is for, and who did it.
  user_id INT UNSIGNED NOT NULL,
  actor_id INT UNSIGNED NOT NULL,
  type ENUM('follow', 'like', 'reply', 'mention', 'retweet') NOT NULL,
  -- like, retweet: the tweet liked or retweeted; reply, mention: the reply or the mentioning tweet.
  tweet_id BIGINT UNSIGNED NULL,
  -- tweet_id, with 0 for none, so that a follow's NULL collides in the unique key below (NULLs never
  -- do); a default rather than a generated column for the reason migrations/009 gives for shown_id.
  tweet_key BIGINT UNSIGNED NOT NULL DEFAULT (COALESCE(tweet_id, 0)),
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  -- One notification per source: liking twice, or following twice, notifies once.
  UNIQUE KEY notifications_source (user_id, type, actor_id, tweet_key),
  -- A user's notifications, newest first, and the unread ones above the read mark.
  KEY notifications_user (user_id, id),
  KEY notifications_actor (actor_id),
  KEY notifications_tweet (tweet_id),
  CONSTRAINT notifications_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT notifications_actor FOREIGN KEY (actor_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT notifications_tweet FOREIGN KEY (tweet_id) REFERENCES tweets (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Everything up to this notification id has been read (POST /notifications/read).
ALTER TABLE users ADD COLUMN notifications_read_id BIGINT UNSIGNED NOT NULL DEFAULT 0;
