ALTER TABLE users DROP COLUMN notifications_read_id;
DROP TABLE IF EXISTS notifications;
