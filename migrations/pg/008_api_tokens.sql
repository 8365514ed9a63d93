-- iochub PostgreSQL schema, version 8: integrators' API tokens (only the SHA-256 of the token).
CREATE TABLE api_tokens (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    username      text NOT NULL REFERENCES users (username),
    token_hash    text NOT NULL UNIQUE,
    permissions   text NOT NULL DEFAULT '[]',   -- JSON array; empty = the role's
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
