-- Search. People: by username or name prefix, through an index on each (usernames have theirs from 010).
-- Tweets: by the words of their text, through a table of (word, tweet) kept by triggers.
ALTER TABLE users ADD KEY users_name (name);

-- Why not InnoDB FULLTEXT: its parser leaves out words under 3 characters and English stopwords (Korean
-- words are often two syllables: '세계'), it has no Korean tokenizer, and a MATCH computes every match
-- before sorting: a word in 50,000 tweets took about a second, at any LIMIT. Here a word is a run of
-- letters, digits, marks and '_' (cut to 40 characters), stored once per tweet; a search for a word is a
-- prefix range of `word` ('세계' finds '세계를', whatever follows), and newest first is a walk down
-- tweet_words_tweet that stops at a page (model/search-dao.ts). The collation makes it case-insensitive.
CREATE TABLE tweet_words (
  word VARCHAR(40) NOT NULL,
  tweet_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (word, tweet_id),
  KEY tweet_words_tweet (tweet_id, word),
  -- A deleted tweet takes its words with it.
  CONSTRAINT tweet_words_tweet FOREIGN KEY (tweet_id) REFERENCES tweets (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A text's words as a JSON array of strings ('세계를 봐요!' is ["세계를","봐요"]); words hold no quote
-- or backslash, so none needs escaping. An empty text gives [""].
CREATE FUNCTION tweet_words_json(tweet VARCHAR(300)) RETURNS TEXT DETERMINISTIC NO SQL
  RETURN CONCAT('["', REPLACE(TRIM(REGEXP_REPLACE(tweet, '[^\\p{L}\\p{N}\\p{M}_]+', ' ')), ' ', '","'), '"]');

-- Records the words of one tweet (a retweet, p_retweet_of not null, has none); the triggers below call it.
CREATE PROCEDURE index_tweet_words(p_id BIGINT UNSIGNED, p_tweet VARCHAR(300), p_retweet_of BIGINT UNSIGNED)
MODIFIES SQL DATA
  INSERT IGNORE INTO tweet_words (word, tweet_id)
    SELECT LEFT(j.word, 40), p_id
      FROM JSON_TABLE(tweet_words_json(p_tweet), '$[*]' COLUMNS (word VARCHAR(300) PATH '$')) j
     WHERE p_retweet_of IS NULL AND j.word <> '';

-- Whichever way a tweet is written (post_tweet, an edit, a bulk load), in the same transaction.
CREATE TRIGGER tweets_words_insert AFTER INSERT ON tweets FOR EACH ROW
  CALL index_tweet_words(NEW.id, NEW.tweet, NEW.retweet_of);

CREATE TRIGGER tweets_words_update AFTER UPDATE ON tweets FOR EACH ROW
  IF NOT (NEW.tweet <=> OLD.tweet) OR NOT (NEW.retweet_of <=> OLD.retweet_of) THEN
    DELETE FROM tweet_words WHERE tweet_id = NEW.id;
    CALL index_tweet_words(NEW.id, NEW.tweet, NEW.retweet_of);
  END IF;

-- The tweets already there, in one statement.
INSERT IGNORE INTO tweet_words (word, tweet_id)
  SELECT LEFT(j.word, 40), t.id
    FROM tweets t, JSON_TABLE(tweet_words_json(t.tweet), '$[*]' COLUMNS (word VARCHAR(300) PATH '$')) j
   WHERE t.retweet_of IS NULL AND j.word <> '';
