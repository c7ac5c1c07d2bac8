-- Search. People: by username or name prefix, through an index on each (usernames have theirs from 010).
-- Tweets: the words of every tweet's text in a FULLTEXT index of their own table, kept by triggers.
ALTER TABLE users ADD KEY users_name (name);

-- InnoDB's FULLTEXT parser splits on what is not a letter or digit, and leaves out words shorter than
-- innodb_ft_min_token_size (3) and English stopwords: Korean words are often two syllables ('세계'), and
-- changing either setting means a server restart. So the indexed text is the tweet's words, each made
-- of letters, digits, marks and '_', with 'ww' before it: '세계를 봐요!' is indexed as 'ww세계를 ww봐요',
-- and a search for a word is a prefix search for 'ww' and the word (model/search-dao.ts), which finds it
-- whatever follows (a Korean particle, an English suffix). The collation makes it case-insensitive.
CREATE FUNCTION search_words(tweet VARCHAR(300)) RETURNS TEXT DETERMINISTIC NO SQL
  RETURN CONCAT('ww', REPLACE(TRIM(REGEXP_REPLACE(tweet, '[^\\p{L}\\p{N}\\p{M}_]+', ' ')), ' ', ' ww'));

CREATE TABLE tweet_search (
  tweet_id BIGINT UNSIGNED NOT NULL,
  words TEXT NOT NULL,
  PRIMARY KEY (tweet_id),
  FULLTEXT KEY tweet_search_words (words),
  -- A deleted tweet leaves the index with its row.
  CONSTRAINT tweet_search_tweet FOREIGN KEY (tweet_id) REFERENCES tweets (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every tweet's words, whichever way it is written (post_tweet, an edit, a bulk load); a retweet's row
-- has no text of its own and is never found.
CREATE TRIGGER tweets_search_insert AFTER INSERT ON tweets FOR EACH ROW
  IF NEW.retweet_of IS NULL THEN
    INSERT INTO tweet_search (tweet_id, words) VALUES (NEW.id, search_words(NEW.tweet));
  END IF;

CREATE TRIGGER tweets_search_update AFTER UPDATE ON tweets FOR EACH ROW
  IF NEW.retweet_of IS NOT NULL AND OLD.retweet_of IS NULL THEN
    DELETE FROM tweet_search WHERE tweet_id = NEW.id;
  ELSEIF NOT (NEW.tweet <=> OLD.tweet) THEN
    UPDATE tweet_search SET words = search_words(NEW.tweet) WHERE tweet_id = NEW.id;
  END IF;

INSERT INTO tweet_search (tweet_id, words)
  SELECT id, search_words(tweet) FROM tweets WHERE retweet_of IS NULL;
