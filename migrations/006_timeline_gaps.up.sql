-- Where each home timeline is incomplete: a follow copies only the followee's newest TIMELINE_BACKFILL
-- tweets, so the follower's timeline_entries lack that author's tweets below below_id. A page reaching
-- below a gap reads that author's tweets directly (one bounded index range each); unfollowing removes
-- the gap with the entries. users.timeline_horizon is the owner's highest below_id (0: no gap).
CREATE TABLE timeline_gaps (
  owner_id INT UNSIGNED NOT NULL,
  author_id INT UNSIGNED NOT NULL,
  below_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (owner_id, author_id),
  -- The gaps a page reaches (below_id above the page's oldest tweet), and the highest one.
  KEY timeline_gaps_owner_below (owner_id, below_id),
  CONSTRAINT timeline_gaps_owner FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT timeline_gaps_author FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Until now a horizon only said that every author was complete from it on: it becomes a gap of that
-- height for the owner and each account the owner follows.
INSERT INTO timeline_gaps (owner_id, author_id, below_id)
  SELECT u.id, u.id, u.timeline_horizon FROM users u WHERE u.timeline_horizon > 0
  UNION ALL
  SELECT f.user_id, f.follow_user_id, u.timeline_horizon
    FROM users_follow_list f JOIN users u ON u.id = f.user_id
   WHERE u.timeline_horizon > 0;
