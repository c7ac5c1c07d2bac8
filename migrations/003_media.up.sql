-- Uploaded media and their attachment to tweets. A row is written as pending before its object is
-- stored and marked ready after, so every stored object has a row that purge can find it by.
CREATE TABLE media (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  user_id INT UNSIGNED NOT NULL,
  storage_key VARCHAR(255) NOT NULL,
  content_type VARCHAR(100) NOT NULL,
  size BIGINT UNSIGNED NOT NULL DEFAULT 0,
  original_name VARCHAR(255) NULL,
  status ENUM('pending', 'ready') NOT NULL DEFAULT 'pending',
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  deleted_at DATETIME(3) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY media_storage_key (storage_key),
  KEY media_user_listing (user_id, status, deleted_at, id),
  KEY media_status_created (status, created_at),
  KEY media_deleted_at (deleted_at),
  CONSTRAINT media_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Deleting a media item for good takes it off the tweets it was attached to.
CREATE TABLE tweet_media (
  tweet_id BIGINT UNSIGNED NOT NULL,
  media_id BIGINT UNSIGNED NOT NULL,
  position TINYINT UNSIGNED NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (tweet_id, position),
  UNIQUE KEY tweet_media_media (media_id),
  CONSTRAINT tweet_media_tweet FOREIGN KEY (tweet_id) REFERENCES tweets (id) ON DELETE CASCADE,
  CONSTRAINT tweet_media_media FOREIGN KEY (media_id) REFERENCES media (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
