-- migrations/009's post_tweet, as it was: first, so that no post reads the column once it is gone.
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

-- The column goes with its key.
ALTER TABLE users DROP KEY users_username, DROP COLUMN username;
