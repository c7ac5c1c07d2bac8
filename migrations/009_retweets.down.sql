-- Without the columns, retweets would read as empty tweets and restore rows as copies: both go first.
DELETE FROM fanout_outbox WHERE kind = 'restore';
DELETE FROM tweets WHERE retweet_of IS NOT NULL;
ALTER TABLE fanout_outbox DROP COLUMN kind, DROP COLUMN original_id;
ALTER TABLE timeline_entries DROP KEY timeline_entries_shown, DROP COLUMN shown_id, DROP COLUMN original_id;
ALTER TABLE tweets
  DROP FOREIGN KEY tweets_retweet_of,
  DROP KEY tweets_retweet,
  DROP COLUMN retweet_count,
  DROP COLUMN retweet_of;
