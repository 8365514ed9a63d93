-- iochub SQLite schema, version 3: accounts with roles, agency, area scope and a state
-- (active | locked | revoked: a revoked row stays, so its username is never issued again), the
-- failed-login lockout, and the agency registry.
ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN agency TEXT;
ALTER TABLE users ADD COLUMN areas TEXT NOT NULL DEFAULT '[]';          -- JSON array of area ids
ALTER TABLE users ADD COLUMN contact TEXT;
ALTER TABLE users ADD COLUMN state TEXT NOT NULL DEFAULT 'active';
ALTER TABLE users ADD COLUMN lock_reason TEXT;
ALTER TABLE users ADD COLUMN password_history TEXT NOT NULL DEFAULT '[]'; -- JSON array, newest first
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until INTEGER;
ALTER TABLE users ADD COLUMN last_active_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_changed_at INTEGER NOT NULL DEFAULT 0;
UPDATE users SET state = 'locked', lock_reason = 'admin' WHERE locked <> 0;
UPDATE users SET last_active_at = created_at, password_changed_at = created_at;
ALTER TABLE users DROP COLUMN locked;

CREATE INDEX sessions_by_user ON sessions (username);

CREATE TABLE agencies (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    area            TEXT,
    contacts        TEXT NOT NULL DEFAULT '[]',  -- JSON array of {name, title?, phone?, email?}
    webhook_url     TEXT,
    webhook_secret  TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
