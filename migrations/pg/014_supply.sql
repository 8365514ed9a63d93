-- iochub PostgreSQL schema, version 14: what the data-supply report reads (DESIGN §3b "Reports").
-- The storage batcher tallies each device's committed readings per local day of the province
-- (received, sent again, stored within the live time, its usual interval, a latency histogram
-- over fixed bounds:
-- <=1 s, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400 s, more) and adds them
-- here every few seconds; silences longer than the outage threshold are kept as gaps (reading
-- time). A month's report for 10,000 devices reads ~300,000 day rows, never the readings.
CREATE TABLE supply_days (
    device      text NOT NULL,
    day         date NOT NULL,
    received    bigint NOT NULL,
    duplicates  bigint NOT NULL,
    live        bigint NOT NULL,
    first_ts    timestamptz NOT NULL,
    last_ts     timestamptz NOT NULL,
    metrics     integer NOT NULL,
    interval_ms bigint,
    latency     bigint[] NOT NULL,
    PRIMARY KEY (day, device)
);

CREATE TABLE supply_gaps (
    device   text NOT NULL,
    from_ts  timestamptz NOT NULL,
    to_ts    timestamptz NOT NULL,
    PRIMARY KEY (device, from_ts)
);
CREATE INDEX supply_gaps_by_end ON supply_gaps (to_ts);

-- Rejections are counted per period from the dead letters.
CREATE INDEX dead_letters_by_time ON dead_letters (received_at);
