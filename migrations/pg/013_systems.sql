-- iochub PostgreSQL schema, version 13: connected systems (DESIGN §3b "Reports").
-- Every device belongs to a connected system, a data source the IOC reports on (the water
-- resources station network, the environment monitoring network, ...): the device's own
-- `system` when set, else the first system whose key patterns (`devices`, globs such as "wl-*")
-- match its key, else none ("unassigned" in reports). The expected reporting interval is the
-- device's, else its system's, else learned from the data by the report.
CREATE TABLE systems (
    id                   text PRIMARY KEY,
    name                 text NOT NULL,
    owner                text,
    expected_interval_s  double precision,
    devices              text[] NOT NULL DEFAULT '{}',
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
ALTER TABLE devices ADD COLUMN system text;
ALTER TABLE devices ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
ALTER TABLE devices ADD COLUMN expected_interval_s double precision;
-- Areas an operator assigned; empty: the areas its position lies in.
ALTER TABLE devices ADD COLUMN areas text[] NOT NULL DEFAULT '{}';

-- Reports select alerts by when the hub opened them and by when they were resolved.
UPDATE alerts SET created_at = opened_at WHERE created_at IS NULL;
CREATE INDEX alerts_by_created ON alerts (created_at);
CREATE INDEX alerts_by_resolved ON alerts (resolved_at);
