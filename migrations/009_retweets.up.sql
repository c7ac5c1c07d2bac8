-- Retweets: a retweet is a row of tweets naming the tweet it repeats (retweet_of), with empty text; it
-- travels to the retweeter's followers like a tweet, and a home timeline shows each tweet at most once
-- however many of its entries would show it (docs/performance.md "Retweets").
ALTER TABLE tweets
  ADD COLUMN retweet_of BIGINT UNSIGNED NULL,
  -- Live retweets of this tweet, moved in the transaction that really adds or removes one.
  ADD COLUMN retweet_count INT UNSIGNED NOT NULL DEFAULT 0,
  -- One retweet per user and tweet (NULLs never collide, so tweets are unconstrained). retweet_of first:
  -- it also serves the foreign key and its cascade, a page's flags (one entry per tweet and caller) and
  -- the retweets of a tweet by given accounts.
  ADD UNIQUE KEY tweets_retweet (retweet_of, user_id),
  -- Deleting a tweet deletes its retweets, and with them their timeline entries.
  ADD CONSTRAINT tweets_retweet_of FOREIGN KEY (retweet_of) REFERENCES tweets (id) ON DELETE CASCADE;

-- What an entry shows: the retweeted tweet for a retweet's entry (original_id), else its own tweet.
-- shown_id is filled by its default (not a generated column: MySQL refuses a stored generated column
-- over tweet_id, whose foreign key cascades), so every existing INSERT IGNORE now also skips an entry
-- showing what the timeline already shows, and ordinary inserts need no change.
ALTER TABLE timeline_entries
  ADD COLUMN original_id BIGINT UNSIGNED NULL,
  ADD COLUMN shown_id BIGINT UNSIGNED NOT NULL DEFAULT (COALESCE(original_id, tweet_id)),
  ADD UNIQUE KEY timeline_entries_shown (owner_id, shown_id);

-- A retweet's fan-out row carries the retweeted tweet. A 'restore' row follows an undone retweet: the
-- retweeter's followers whose entry for tweet_id went with it get back another entry that shows it (the
-- original, or another followee's retweet), if they still have one to show.
ALTER TABLE fanout_outbox
  ADD COLUMN original_id BIGINT UNSIGNED NULL,
  ADD COLUMN kind ENUM('copy', 'restore') NOT NULL DEFAULT 'copy';

-- migrations/007's post, but a reply cannot answer a retweet's row (it is no tweet): in_reply_to naming
-- one is refused like a tweet that does not exist.
DROP PROCEDURE IF EXISTS post_tweet;
CREATE PROCEDURE post_tweet(
  IN p_user_id INT UNSIGNED,
  IN p_tweet VARCHAR(300) CHARACTER SET utf8mb4,
  IN p_in_reply_to BIGINT UNSIGNED,
  IN p_own_transaction BOOLEAN
)
MODIFIES SQL DATA
BEGIN
  DECLARE v_tweet_id BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_created_at DATETIME(3);
  DECLARE v_fanout VARCHAR(4);
  DECLARE v_followers INT UNSIGNED DEFAULT 0;
  DECLARE v_name VARCHAR(255) CHARACTER SET utf8mb4;
  DECLARE v_picture VARCHAR(255) CHARACTER SET utf8mb4;
  DECLARE v_conversation_id BIGINT UNSIGNED DEFAULT NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    IF p_own_transaction THEN ROLLBACK; END IF;
    RESIGNAL;
  END;

  IF p_own_transaction THEN START TRANSACTION; END IF;
  IF p_in_reply_to IS NOT NULL THEN
    SELECT COALESCE(MAX(conversation_id), MAX(id)) INTO v_conversation_id
      FROM tweets WHERE id = p_in_reply_to AND retweet_of IS NULL FOR UPDATE;
    IF v_conversation_id IS NULL AND EXISTS (SELECT 1 FROM users WHERE id = p_user_id) THEN
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'in_reply_to: no such tweet';
    END IF;
  END IF;
  IF p_in_reply_to IS NULL OR v_conversation_id IS NOT NULL THEN
    UPDATE users SET tweets_count = tweets_count + 1 WHERE id = p_user_id;
    IF ROW_COUNT() > 0 THEN
      SELECT fanout, followers_count, name, profile_picture
        INTO v_fanout, v_followers, v_name, v_picture
        FROM users WHERE id = p_user_id;
      SET v_created_at = NOW(3);
      INSERT INTO tweets (user_id, tweet, created_at, in_reply_to, conversation_id)
        VALUES (p_user_id, p_tweet, v_created_at, p_in_reply_to, v_conversation_id);
      SET v_tweet_id = LAST_INSERT_ID();
      IF p_in_reply_to IS NOT NULL THEN
        UPDATE tweets SET reply_count = reply_count + 1 WHERE id = p_in_reply_to;
      END IF;
      INSERT INTO timeline_entries (owner_id, tweet_id, author_id) VALUES (p_user_id, v_tweet_id, p_user_id);
      IF v_fanout = 'push' AND v_followers > 0 THEN
        INSERT INTO fanout_outbox (tweet_id, author_id) VALUES (v_tweet_id, p_user_id);
      END IF;
    END IF;
  END IF;
  IF p_own_transaction THEN COMMIT; END IF;

  SELECT v_tweet_id AS id, v_created_at AS created_at, v_name AS name, v_picture AS profile_picture,
         v_conversation_id AS conversation_id
    FROM DUAL WHERE v_tweet_id IS NOT NULL;
END;
