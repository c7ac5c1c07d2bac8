DROP TABLE IF EXISTS pulled_follows;
DROP TABLE IF EXISTS timeline_entries;
ALTER TABLE users
  DROP COLUMN pulled_following_count,
  DROP COLUMN timeline_horizon,
  DROP COLUMN fanout,
  DROP COLUMN tweets_count,
  DROP COLUMN following_count,
  DROP COLUMN followers_count;
ALTER TABLE tweets
  DROP COLUMN media_count,
  DROP COLUMN edited_at;
