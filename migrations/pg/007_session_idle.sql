-- iochub PostgreSQL schema, version 7: a session's last activity, for the idle timeout (kept in
-- the hub's memory and written here at most once a minute, so that a restart does not revive an
-- idle session).
ALTER TABLE sessions ADD COLUMN last_seen_at timestamptz;
UPDATE sessions SET last_seen_at = created_at;
ALTER TABLE sessions ALTER COLUMN last_seen_at SET NOT NULL;
