-- Account deletion (service/account-eraser.ts). DELETE /users/me deactivates the account at once: from
-- deactivated_at on, every read leaves it out as if it were gone and its tokens stop working. Its rows are
-- erased in bounded batches once erase_after has passed (at once, or after ACCOUNT_GRACE_DAYS, during which
-- logging in restores it); the users row goes last, which frees its email and username.
ALTER TABLE users
  ADD COLUMN deactivated_at DATETIME(3) NULL,
  ADD COLUMN erase_after DATETIME(3) NULL,
  -- The accounts due for erasure, oldest due first.
  ADD KEY users_erase_after (erase_after);
