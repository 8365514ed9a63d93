-- iochub SQLite schema, version 8: an account's second factor (TOTP secret, the last step used,
-- the SHA-256 of its unused recovery codes), as JSON; null = none.
ALTER TABLE users ADD COLUMN second_factor TEXT;
