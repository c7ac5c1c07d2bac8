-- Revocable sessions. Every token carries its account's token_version, which a logout of every session or
-- a password change raises, and an id of its own (jti), which POST /logout records here until the token
-- would have expired anyway. Both are checked by the one account lookup every authenticated request makes.
ALTER TABLE users ADD COLUMN token_version INT UNSIGNED NOT NULL DEFAULT 0;

CREATE TABLE revoked_tokens (
  -- The token's jti: 16 random bytes in base64url.
  token_id CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id INT UNSIGNED NOT NULL,
  -- The token's own exp: after it the row is useless, and the next logout removes it.
  expires_at DATETIME NOT NULL,
  PRIMARY KEY (token_id),
  KEY revoked_tokens_expiry (expires_at),
  CONSTRAINT revoked_tokens_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
