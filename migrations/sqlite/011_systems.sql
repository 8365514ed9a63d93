-- iochub SQLite schema, version 11: connected systems (DESIGN §3b "Reports").
-- Every device belongs to a connected system, a data source the IOC reports on (the water
-- resources station network, the environment monitoring network, ...): the device's own
-- `system` when set, else the first system whose key patterns (`devices`, JSON list of globs
-- such as "wl-*") match its key, else none ("unassigned" in reports). The expected reporting
-- interval is the device's, else its system's, else learned from the data by the report.
CREATE TABLE systems (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    owner                TEXT,
    expected_interval_s  REAL,
    devices              TEXT NOT NULL DEFAULT '[]',
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
ALTER TABLE devices ADD COLUMN system TEXT;
ALTER TABLE devices ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE devices ADD COLUMN expected_interval_s REAL;
-- Areas an operator assigned (JSON list of area ids); empty: the areas its position lies in.
ALTER TABLE devices ADD COLUMN areas TEXT NOT NULL DEFAULT '[]';

-- Reports select alerts by when the hub opened them and by when they were resolved.
UPDATE alerts SET created_at = opened_at WHERE created_at IS NULL;
CREATE INDEX alerts_by_created ON alerts (created_at);
CREATE INDEX alerts_by_resolved ON alerts (resolved_at);
