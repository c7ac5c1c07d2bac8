DROP TABLE IF EXISTS revoked_tokens;
ALTER TABLE users DROP COLUMN token_version;
