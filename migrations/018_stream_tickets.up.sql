-- One-time tickets for GET /stream (browsers' EventSource cannot send an Authorization header): made by
-- POST /stream/ticket, good for 30 seconds and for one stream, on any instance. Kept as the SHA-256 of the
-- secret, like personal tokens; used and expired ones are deleted.
CREATE TABLE stream_tickets (
  ticket_hash BINARY(32) NOT NULL,
  user_id INT UNSIGNED NOT NULL,
  expires_at DATETIME(3) NOT NULL,
  PRIMARY KEY (ticket_hash),
  KEY stream_tickets_expiry (expires_at),
  CONSTRAINT stream_tickets_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
