-- iochub SQLite schema, version 12: what the data-supply report reads (DESIGN §3b "Reports").
-- The storage batcher tallies each device's committed readings per local day of the province
-- (received, sent again, stored within the live time, its usual interval, a latency histogram
-- over fixed bounds
-- l0..l14: <=1 s, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400 s, more) and
-- adds them here every few seconds; silences longer than the outage threshold are kept as gaps
-- (reading time). A month's report for 10,000 devices reads ~300,000 day rows, never the readings.
CREATE TABLE supply_days (
    device      TEXT NOT NULL,
    day         TEXT NOT NULL,
    received    INTEGER NOT NULL,
    duplicates  INTEGER NOT NULL,
    live        INTEGER NOT NULL,
    first_ts    INTEGER NOT NULL,
    last_ts     INTEGER NOT NULL,
    metrics     INTEGER NOT NULL,
    interval_ms INTEGER,
    l0 INTEGER NOT NULL DEFAULT 0, l1 INTEGER NOT NULL DEFAULT 0, l2 INTEGER NOT NULL DEFAULT 0,
    l3 INTEGER NOT NULL DEFAULT 0, l4 INTEGER NOT NULL DEFAULT 0, l5 INTEGER NOT NULL DEFAULT 0,
    l6 INTEGER NOT NULL DEFAULT 0, l7 INTEGER NOT NULL DEFAULT 0, l8 INTEGER NOT NULL DEFAULT 0,
    l9 INTEGER NOT NULL DEFAULT 0, l10 INTEGER NOT NULL DEFAULT 0, l11 INTEGER NOT NULL DEFAULT 0,
    l12 INTEGER NOT NULL DEFAULT 0, l13 INTEGER NOT NULL DEFAULT 0, l14 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, device)
) WITHOUT ROWID;

CREATE TABLE supply_gaps (
    device   TEXT NOT NULL,
    from_ts  INTEGER NOT NULL,
    to_ts    INTEGER NOT NULL,
    PRIMARY KEY (device, from_ts)
) WITHOUT ROWID;
CREATE INDEX supply_gaps_by_end ON supply_gaps (to_ts);

-- Rejections are counted per period from the dead letters.
CREATE INDEX dead_letters_by_time ON dead_letters (received_at);
