-- Mentions: the users a tweet's text names as @username, as [{"id": …, "username": …}] in the order the
-- text first names them (usernames spelled as their owners chose, at the time of the post or last edit);
-- NULL when it names nobody. Kept on the row so that every page shows them without another query; the
-- mentioned users are told through notifications (type 'mention'). JSON text in a TEXT column, read as a
-- string on MariaDB and MySQL alike (a MySQL JSON column would reach the driver already parsed). Added
-- last: an instant change.
ALTER TABLE tweets ADD COLUMN mentions TEXT NULL;
