-- iochub SQLite schema, version 1. Times are epoch milliseconds.

CREATE TABLE devices (
    key         TEXT PRIMARY KEY,
    name        TEXT,
    lat         REAL,
    lon         REAL,
    registered  INTEGER NOT NULL DEFAULT 0,
    online      INTEGER,
    status_ts   INTEGER,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
);

-- One row per (device, metric): readings refer to it by id, and it keeps the latest value.
CREATE TABLE series (
    id          INTEGER PRIMARY KEY,
    device      TEXT NOT NULL,
    metric      TEXT NOT NULL,
    last_ts     INTEGER,
    last_value  REAL,
    UNIQUE (device, metric)
);

-- The primary key is the idempotency key: a redelivered reading is ignored, never duplicated.
CREATE TABLE readings (
    series  INTEGER NOT NULL,
    ts      INTEGER NOT NULL,
    value   REAL NOT NULL,
    PRIMARY KEY (series, ts)
) WITHOUT ROWID;

CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY,
    rule         TEXT NOT NULL,
    device       TEXT NOT NULL,
    metric       TEXT NOT NULL,
    op           TEXT NOT NULL,
    threshold    REAL NOT NULL,
    severity     TEXT NOT NULL,
    state        TEXT NOT NULL,
    value        REAL NOT NULL,
    opened_at    INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    resolved_at  INTEGER,
    hits         INTEGER NOT NULL DEFAULT 1
);
-- At most one unresolved alert per (rule, device).
CREATE UNIQUE INDEX alerts_one_open ON alerts (rule, device) WHERE resolved_at IS NULL;
CREATE INDEX alerts_by_time ON alerts (opened_at);

CREATE TABLE dead_letters (
    id           INTEGER PRIMARY KEY,
    received_at  INTEGER NOT NULL,
    topic        TEXT NOT NULL,
    reason       TEXT NOT NULL,
    detail       TEXT NOT NULL,
    payload      TEXT NOT NULL
);

CREATE TABLE users (
    username       TEXT PRIMARY KEY,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL,
    locked         INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    username    TEXT NOT NULL REFERENCES users (username),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
