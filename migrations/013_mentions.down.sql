ALTER TABLE tweets DROP COLUMN mentions;
