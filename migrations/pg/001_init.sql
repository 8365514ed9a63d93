-- iochub PostgreSQL schema, version 1 (the same model as migrations/sqlite/001_init.sql).
-- Times are timestamptz (epoch milliseconds in Rust). Keys that the API sorts and compares
-- byte-wise (device keys, metric and rule names: ASCII identifiers) use COLLATE "C", so that the
-- order does not depend on the database's locale and their indexes compare bytes.

CREATE TABLE devices (
    key         text COLLATE "C" PRIMARY KEY,
    name        text,
    lat         double precision,
    lon         double precision,
    registered  boolean NOT NULL DEFAULT false,
    online      boolean,
    status_ts   timestamptz,
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL
);

-- One row per (device, metric): readings refer to it by id, and it keeps the latest value.
CREATE TABLE series (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device      text COLLATE "C" NOT NULL,
    metric      text COLLATE "C" NOT NULL,
    last_ts     timestamptz,
    last_value  double precision,
    UNIQUE (device, metric)
);

-- Partitioned by time (native declarative partitioning): one partition per UTC day, named
-- readings_pYYYYMMDD, created by the hub before it writes into a day (src/storage/postgres/
-- partition.rs). Retention is then a DROP TABLE of whole days, never a mass DELETE.
-- The primary key is the idempotency key: a redelivered reading is ignored, never duplicated.
-- It contains the partition key (ts), as PostgreSQL requires of a unique constraint.
CREATE TABLE readings (
    series  bigint NOT NULL,
    ts      timestamptz NOT NULL,
    value   double precision NOT NULL,
    PRIMARY KEY (series, ts)
) PARTITION BY RANGE (ts);

CREATE TABLE alerts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule         text COLLATE "C" NOT NULL,
    device       text COLLATE "C" NOT NULL,
    metric       text NOT NULL,
    op           text NOT NULL,
    threshold    double precision NOT NULL,
    severity     text NOT NULL,
    state        text NOT NULL,
    value        double precision NOT NULL,
    opened_at    timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    resolved_at  timestamptz,
    hits         integer NOT NULL DEFAULT 1
);
-- At most one unresolved alert per (rule, device).
CREATE UNIQUE INDEX alerts_one_open ON alerts (rule, device) WHERE resolved_at IS NULL;
CREATE INDEX alerts_by_time ON alerts (opened_at);

CREATE TABLE dead_letters (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at  timestamptz NOT NULL,
    topic        text NOT NULL,
    reason       text NOT NULL,
    detail       text NOT NULL,
    payload      text NOT NULL
);

CREATE TABLE users (
    username       text PRIMARY KEY,
    password_hash  text NOT NULL,
    role           text NOT NULL,
    locked         boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL
);

-- token_hash is the SHA-256 of the session token, never the token.
CREATE TABLE sessions (
    token_hash  text PRIMARY KEY,
    username    text NOT NULL REFERENCES users (username),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
