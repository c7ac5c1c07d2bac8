DROP TABLE IF EXISTS tweet_tombstones;
ALTER TABLE tweets
  DROP KEY tweets_conversation,
  DROP COLUMN reply_count,
  DROP COLUMN conversation_id,
  DROP COLUMN in_reply_to;

-- migrations/004's post_tweet, as it was.
DROP PROCEDURE IF EXISTS post_tweet;
-- A post in one round trip: lock and count on the author's row (which orders it with follows of the
-- author), the tweet, the author's own entry and, for a 'push' author with followers, the outbox row.
-- p_own_transaction: the call is its own transaction (the fast path), else it joins the caller's.
-- Answers one row (id, created_at, name, profile_picture), or none when the author does not exist.
CREATE PROCEDURE post_tweet(
  IN p_user_id INT UNSIGNED,
  IN p_tweet VARCHAR(300) CHARACTER SET utf8mb4,
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
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    IF p_own_transaction THEN ROLLBACK; END IF;
    RESIGNAL;
  END;

  IF p_own_transaction THEN START TRANSACTION; END IF;
  UPDATE users SET tweets_count = tweets_count + 1 WHERE id = p_user_id;
  IF ROW_COUNT() > 0 THEN
    SELECT fanout, followers_count, name, profile_picture
      INTO v_fanout, v_followers, v_name, v_picture
      FROM users WHERE id = p_user_id;
    SET v_created_at = NOW(3);
    INSERT INTO tweets (user_id, tweet, created_at) VALUES (p_user_id, p_tweet, v_created_at);
    SET v_tweet_id = LAST_INSERT_ID();
    INSERT INTO timeline_entries (owner_id, tweet_id, author_id) VALUES (p_user_id, v_tweet_id, p_user_id);
    IF v_fanout = 'push' AND v_followers > 0 THEN
      INSERT INTO fanout_outbox (tweet_id, author_id) VALUES (v_tweet_id, p_user_id);
    END IF;
  END IF;
  IF p_own_transaction THEN COMMIT; END IF;

  SELECT v_tweet_id AS id, v_created_at AS created_at, v_name AS name, v_picture AS profile_picture
    FROM DUAL WHERE v_tweet_id IS NOT NULL;
END;
