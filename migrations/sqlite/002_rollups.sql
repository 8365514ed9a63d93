-- iochub SQLite schema, version 2: downsampled rollups and their bookkeeping.
-- Buckets are on the epoch grid (bucket = ts - ts % width), times in epoch milliseconds. Each
-- row keeps min, max, sum and count, so that coarser steps re-aggregate exactly (avg = sum/count).

CREATE TABLE readings_1m (
    series  INTEGER NOT NULL,
    bucket  INTEGER NOT NULL,
    min     REAL NOT NULL,
    max     REAL NOT NULL,
    sum     REAL NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (series, bucket)
) WITHOUT ROWID;

CREATE TABLE readings_1h (
    series  INTEGER NOT NULL,
    bucket  INTEGER NOT NULL,
    min     REAL NOT NULL,
    max     REAL NOT NULL,
    sum     REAL NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (series, bucket)
) WITHOUT ROWID;

-- Minutes below the claimed watermark that received a reading after they were claimed: re-rolled
-- from raw by the next maintenance pass. `marks` counts the writes that dirtied the minute.
CREATE TABLE rollup_dirty (
    series  INTEGER NOT NULL,
    bucket  INTEGER NOT NULL,
    marks   INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (series, bucket)
) WITHOUT ROWID;

-- One row. claimed: writes below it mark their minute dirty; rolled_1m / rolled_1h: the rollup
-- tables are complete below these; raw_floor: raw readings below it were removed by retention;
-- rollup_floor: rollups below it were removed. NULL = not yet.
CREATE TABLE rollup_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    claimed       INTEGER,
    rolled_1m     INTEGER,
    rolled_1h     INTEGER,
    raw_floor     INTEGER,
    rollup_floor  INTEGER
);
INSERT INTO rollup_state (id) VALUES (1);
