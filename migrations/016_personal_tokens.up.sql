-- Personal access tokens for machine clients: made by a signed-in user, shown once, stored as the SHA-256
-- of their secret (a random 256-bit value needs no slow hash), scoped to reading or to reading and
-- writing, and revoked one by one, with every other token by POST /logout-all (the account's
-- token_version, copied here when the token is made, must still be the account's) or with the account.
CREATE TABLE personal_tokens (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  user_id INT UNSIGNED NOT NULL,
  name VARCHAR(100) NOT NULL,
  scope ENUM('read', 'write') NOT NULL,
  token_hash BINARY(32) NOT NULL,
  token_version INT UNSIGNED NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY personal_tokens_hash (token_hash),
  KEY personal_tokens_user (user_id, id),
  CONSTRAINT personal_tokens_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
