-- Blocks and mutes. A block is one row naming who blocks whom, but it works both ways: neither sees the
-- other's tweets or may follow them (service/follow-service.ts removes the follows in the block's
-- transaction). A mute only hides the muted account from the muter's home timeline and notifications.
CREATE TABLE blocks (
  user_id INT UNSIGNED NOT NULL,
  blocked_id INT UNSIGNED NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  -- The blocker's list, keyset paged by blocked_id, and "does a block b".
  PRIMARY KEY (user_id, blocked_id),
  -- "Is a blocked by b", the other direction of every check; the cascade when the blocked user goes.
  KEY blocks_blocked (blocked_id, user_id),
  CONSTRAINT blocks_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT blocks_blocked FOREIGN KEY (blocked_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE mutes (
  user_id INT UNSIGNED NOT NULL,
  muted_id INT UNSIGNED NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (user_id, muted_id),
  KEY mutes_muted (muted_id),
  CONSTRAINT mutes_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT mutes_muted FOREIGN KEY (muted_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
