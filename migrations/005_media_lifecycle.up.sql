-- Per-user media quota: the sum of a user's media sizes (pending rows hold their reservation) read
-- from the index alone.
ALTER TABLE media ADD KEY media_user_size (user_id, size);

-- When an upload expires unless a tweet takes it first: set at upload (MEDIA_UNATTACHED_TTL), cleared
-- when it is attached; NULL never expires (no TTL, attached once, or uploaded before this migration).
ALTER TABLE media ADD COLUMN expires_at DATETIME(3) NULL AFTER deleted_at, ADD KEY media_expires_at (expires_at);

-- Objects in storage that no row references: a profile picture being written (purge_after: when its
-- upload must have finished) or one a newer picture replaced (purge_after: at once). Purge deletes the
-- object, then the record, once purge_after has passed; a crash at any point leaves a record to retry.
CREATE TABLE pending_objects (
  storage_key VARCHAR(255) NOT NULL,
  purge_after DATETIME(3) NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (storage_key),
  KEY pending_objects_purge_after (purge_after, storage_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
