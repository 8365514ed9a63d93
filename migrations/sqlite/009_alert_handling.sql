-- iochub SQLite schema, version 9: alert handling (DESIGN §3b "Alert handling").
-- An alert gets its two axes (the condition: active, cleared_at; the handling state: open ...
-- closed), its forwarding (agency, agencies), place, deadlines and escalations; value,
-- threshold and op may be empty (a field report has none). The table is rebuilt because SQLite
-- cannot drop a NOT NULL. Every alert gets a timeline (alert_events); an action sent with an
-- Idempotency-Key is remembered (alert_requests), so a repeat does not act twice.
CREATE TABLE alerts_new (
    id                  INTEGER PRIMARY KEY,
    rule                TEXT NOT NULL,
    device              TEXT NOT NULL,
    metric              TEXT NOT NULL,
    op                  TEXT,
    threshold           REAL,
    severity            TEXT NOT NULL,
    state               TEXT NOT NULL,
    value               REAL,
    opened_at           INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    resolved_at         INTEGER,
    hits                INTEGER NOT NULL DEFAULT 1,
    active              INTEGER NOT NULL DEFAULT 0,
    cleared_at          INTEGER,
    category            TEXT,
    agency              TEXT,
    agencies            TEXT NOT NULL DEFAULT '[]',
    assignee            TEXT,
    resolution          TEXT,
    source              TEXT NOT NULL DEFAULT 'rule',
    lat                 REAL,
    lon                 REAL,
    areas               TEXT NOT NULL DEFAULT '[]',
    text                TEXT,
    acknowledged_at     INTEGER,
    dispatched_at       INTEGER,
    closed_at           INTEGER,
    ack_deadline        INTEGER,
    resolve_deadline    INTEGER,
    escalations         INTEGER NOT NULL DEFAULT 0,
    next_escalation_at  INTEGER
);
INSERT INTO alerts_new (id, rule, device, metric, op, threshold, severity, state, value,
                        opened_at, updated_at, resolved_at, hits, active, cleared_at, resolution)
SELECT id, rule, device, metric, op, threshold, severity, state, value,
       opened_at, updated_at, resolved_at, hits,
       state = 'open', resolved_at, CASE WHEN state = 'resolved' THEN 'auto_cleared' END
FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;
-- At most one unresolved alert per (rule, device); field reports have no device.
CREATE UNIQUE INDEX alerts_one_open ON alerts (rule, device)
    WHERE resolved_at IS NULL AND source = 'rule';
CREATE INDEX alerts_by_time ON alerts (opened_at);
CREATE INDEX alerts_live ON alerts (id) WHERE resolved_at IS NULL OR active = 1;

CREATE TABLE alert_events (
    seq         INTEGER PRIMARY KEY,
    alert_id    INTEGER NOT NULL REFERENCES alerts (id),
    ts          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT,
    note        TEXT,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_events_by_alert ON alert_events (alert_id, seq);
-- The alerts of earlier versions get the timeline they had: opened, and resolved by the rule.
INSERT INTO alert_events (alert_id, ts, actor, kind, to_state)
SELECT id, opened_at, 'system', 'opened', NULL FROM alerts;
INSERT INTO alert_events (alert_id, ts, actor, kind, from_state, to_state)
SELECT id, resolved_at, 'system', 'auto_resolved', 'open', 'resolved'
FROM alerts WHERE resolved_at IS NOT NULL;

CREATE TABLE alert_requests (
    actor       TEXT NOT NULL,
    key         TEXT NOT NULL,
    alert_id    INTEGER NOT NULL,
    action      TEXT NOT NULL,
    ts          INTEGER NOT NULL,
    PRIMARY KEY (actor, key)
);
