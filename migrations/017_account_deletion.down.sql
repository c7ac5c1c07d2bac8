ALTER TABLE users DROP KEY users_erase_after, DROP COLUMN erase_after, DROP COLUMN deactivated_at;
