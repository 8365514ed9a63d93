-- iochub SQLite schema, version 5: a session's last activity, for the idle timeout (kept in the
-- hub's memory and written here at most once a minute, so that a restart does not revive an idle
-- session).
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at = created_at;
