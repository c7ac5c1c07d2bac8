DROP TRIGGER IF EXISTS tweets_words_update;
DROP TRIGGER IF EXISTS tweets_words_insert;
DROP PROCEDURE IF EXISTS index_tweet_words;
DROP FUNCTION IF EXISTS tweet_words_json;
DROP TABLE IF EXISTS tweet_words;
ALTER TABLE users DROP KEY users_name;
