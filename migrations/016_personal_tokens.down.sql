DROP TABLE IF EXISTS personal_tokens;
