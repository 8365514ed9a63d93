-- iochub SQLite schema, version 6: integrators' API tokens (only the SHA-256 of the token).
CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    username      TEXT NOT NULL REFERENCES users (username),
    token_hash    TEXT NOT NULL UNIQUE,
    permissions   TEXT NOT NULL DEFAULT '[]',   -- JSON array; empty = the role's
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);
