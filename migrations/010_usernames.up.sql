-- Usernames: every user gets a unique handle of 3–30 characters of [A-Za-z0-9_], stored as chosen and unique
-- case-insensitively: the table's collation (utf8mb4_unicode_ci) compares 'Eunwoo' and 'eunwoo' as equal, so
-- the unique key refuses the second and a lookup by username finds either spelling through the key.
ALTER TABLE users ADD COLUMN username VARCHAR(30) NULL AFTER name;

-- Existing users get theirs from the email's local part (before the last '@'), by the rule sign-up uses
-- for an account that names none (service/user-service.ts usernameFromEmail): every run of characters
-- outside [A-Za-z0-9_] becomes one '_', the result is cut to 30 and padded with '_' to 3.
UPDATE users
   SET username = LEFT(
         REGEXP_REPLACE(
           LEFT(email, CHAR_LENGTH(email) - CHAR_LENGTH(SUBSTRING_INDEX(email, '@', -1)) - 1),
           '[^A-Za-z0-9_]+', '_'),
         30);
UPDATE users SET username = RPAD(username, 3, '_') WHERE CHAR_LENGTH(username) < 3;

-- Deterministic uniqueness: of the users whose form is the same (whatever its case), the oldest account
-- (lowest id) keeps it and every other gets '_<id>', its form cut so the whole stays within 30.
UPDATE users u
  JOIN (SELECT id, ROW_NUMBER() OVER (PARTITION BY username ORDER BY id) AS n FROM users) r ON r.id = u.id
   SET u.username = CONCAT(LEFT(u.username, 29 - CHAR_LENGTH(u.id)), '_', u.id)
 WHERE r.n > 1;

-- A suffixed name can still equal another user's plain form (Bob@b.com became 'Bob_2' while bob_2@c.com
-- kept 'bob_2'). Two names ending in '_<their own id>' never collide (the digits after the last '_'
-- differ), so in any clash exactly one of the two does not end that way: it yields and takes its own
-- '_<id>', which may clash again with a third plain form. Each round leaves one user fewer without the
-- ending, so the loop ends, and it ends only when no two names clash.
CREATE PROCEDURE username_backfill_clashes()
MODIFIES SQL DATA
BEGIN
  REPEAT
    UPDATE users y JOIN users s ON s.username = y.username AND s.id <> y.id
       SET y.username = CONCAT(LEFT(y.username, 29 - CHAR_LENGTH(y.id)), '_', y.id)
     WHERE RIGHT(y.username, CHAR_LENGTH(y.id) + 1) <> CONCAT('_', y.id);
  UNTIL ROW_COUNT() = 0 END REPEAT;
END;
CALL username_backfill_clashes();
DROP PROCEDURE username_backfill_clashes;

ALTER TABLE users
  MODIFY COLUMN username VARCHAR(30) NOT NULL,
  ADD UNIQUE KEY users_username (username);

-- migrations/009's post_tweet, answering the author's username too, so that POST /tweet still answers
-- (and fills the authors cache) from this one round trip.
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
  DECLARE v_username VARCHAR(30) CHARACTER SET utf8mb4;
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
      SELECT fanout, followers_count, name, username, profile_picture
        INTO v_fanout, v_followers, v_name, v_username, v_picture
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

  SELECT v_tweet_id AS id, v_created_at AS created_at, v_name AS name, v_username AS username,
         v_picture AS profile_picture, v_conversation_id AS conversation_id
    FROM DUAL WHERE v_tweet_id IS NOT NULL;
END;
