-- iochub PostgreSQL schema, version 5: accounts with roles, agency, area scope and a state
-- (active | locked | revoked: a revoked row stays, so its username is never issued again), the
-- failed-login lockout, and the agency registry.
ALTER TABLE users
    ADD COLUMN display_name text NOT NULL DEFAULT '',
    ADD COLUMN agency text,
    ADD COLUMN areas text NOT NULL DEFAULT '[]',              -- JSON array of area ids
    ADD COLUMN contact text,
    ADD COLUMN state text NOT NULL DEFAULT 'active'
        CHECK (state IN ('active', 'locked', 'revoked')),
    ADD COLUMN lock_reason text,
    ADD COLUMN password_history text NOT NULL DEFAULT '[]',   -- JSON array, newest first
    ADD COLUMN must_change_password boolean NOT NULL DEFAULT false,
    ADD COLUMN failed_logins integer NOT NULL DEFAULT 0,
    ADD COLUMN locked_until timestamptz,
    ADD COLUMN last_active_at timestamptz,
    ADD COLUMN password_changed_at timestamptz;
UPDATE users SET state = 'locked', lock_reason = 'admin' WHERE locked;
UPDATE users SET last_active_at = created_at, password_changed_at = created_at;
ALTER TABLE users
    ALTER COLUMN last_active_at SET NOT NULL,
    ALTER COLUMN password_changed_at SET NOT NULL,
    DROP COLUMN locked;

CREATE INDEX sessions_by_user ON sessions (username);

CREATE TABLE agencies (
    id              text PRIMARY KEY,
    name            text NOT NULL,
    kind            text NOT NULL,
    area            text,
    contacts        text NOT NULL DEFAULT '[]',  -- JSON array of {name, title?, phone?, email?}
    webhook_url     text,
    webhook_secret  text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
