DROP TABLE IF EXISTS pending_objects;
ALTER TABLE media DROP KEY media_user_size, DROP KEY media_expires_at, DROP COLUMN expires_at;
