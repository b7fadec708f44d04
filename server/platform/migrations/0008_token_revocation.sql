-- A user's tokens issued before this time are refused (a device's: before its revoked_at).
ALTER TABLE users ADD COLUMN tokens_valid_after timestamptz;
