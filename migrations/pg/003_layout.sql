-- iochub PostgreSQL schema, version 3: which physical layout the time series use.
--   native       readings partitioned by day (declarative), rollups in plain tables that the
--                hub's maintenance pass fills;
--   timescaledb  readings a hypertable (compressed after a week), readings_1m / readings_1h
--                continuous aggregates that the maintenance pass refreshes.
-- A new store switches to timescaledb when the extension is available (see
-- src/storage/postgres/timescale.rs); a store that already holds readings keeps its layout.
CREATE TABLE storage_layout (
    id    integer PRIMARY KEY CHECK (id = 1),
    kind  text NOT NULL CHECK (kind IN ('native', 'timescaledb'))
);
INSERT INTO storage_layout (id, kind) VALUES (1, 'native');
