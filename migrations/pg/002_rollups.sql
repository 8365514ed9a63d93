-- iochub PostgreSQL schema, version 2: downsampled rollups and their bookkeeping (the same model
-- as migrations/sqlite/002_rollups.sql). Buckets are on the epoch grid; each row keeps min, max,
-- sum and count, so that coarser steps re-aggregate exactly (avg = sum/count).
--
-- Plain tables, not partitioned: at one reading per second a 1-minute rollup is 60 times smaller
-- than raw, and rollup retention removes about one hour of rows per series once an hour, an
-- index-range DELETE on (series, bucket) — no mass delete that partitions would be needed for.

CREATE TABLE readings_1m (
    series  bigint NOT NULL,
    bucket  timestamptz NOT NULL,
    min     double precision NOT NULL,
    max     double precision NOT NULL,
    sum     double precision NOT NULL,
    count   bigint NOT NULL,
    PRIMARY KEY (series, bucket)
);

CREATE TABLE readings_1h (
    series  bigint NOT NULL,
    bucket  timestamptz NOT NULL,
    min     double precision NOT NULL,
    max     double precision NOT NULL,
    sum     double precision NOT NULL,
    count   bigint NOT NULL,
    PRIMARY KEY (series, bucket)
);

-- Minutes below the claimed watermark that received a reading after they were claimed: re-rolled
-- from raw by the next maintenance pass. `marks` counts the writes that dirtied the minute, so
-- the pass deletes only entries no write touched while it re-rolled.
CREATE TABLE rollup_dirty (
    series  bigint NOT NULL,
    bucket  timestamptz NOT NULL,
    marks   bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (series, bucket)
);

-- One row. claimed: writes below it mark their minute dirty; rolled_1m / rolled_1h: the rollup
-- tables are complete below these; raw_floor: raw readings below it were dropped by retention;
-- rollup_floor: rollups below it were deleted. NULL = not yet.
CREATE TABLE rollup_state (
    id            integer PRIMARY KEY CHECK (id = 1),
    claimed       timestamptz,
    rolled_1m     timestamptz,
    rolled_1h     timestamptz,
    raw_floor     timestamptz,
    rollup_floor  timestamptz
);
INSERT INTO rollup_state (id) VALUES (1);
