DROP TRIGGER IF EXISTS tweets_search_update;
DROP TRIGGER IF EXISTS tweets_search_insert;
DROP TABLE IF EXISTS tweet_search;
DROP FUNCTION IF EXISTS search_words;
ALTER TABLE users DROP KEY users_name;
