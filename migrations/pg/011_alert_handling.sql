-- iochub PostgreSQL schema, version 11: alert handling (DESIGN §3b "Alert handling").
-- An alert gets its two axes (the condition: active, cleared_at; the handling state: open ...
-- closed), its forwarding (agency, agencies), place, deadlines and escalations; value,
-- threshold and op may be empty (a field report has none). Every alert gets a timeline
-- (alert_events); an action sent with an Idempotency-Key is remembered (alert_requests), so
-- a repeat does not act twice.
ALTER TABLE alerts
    ALTER COLUMN op DROP NOT NULL,
    ALTER COLUMN threshold DROP NOT NULL,
    ALTER COLUMN value DROP NOT NULL,
    ADD COLUMN active              boolean NOT NULL DEFAULT false,
    ADD COLUMN cleared_at          timestamptz,
    ADD COLUMN category            text,
    ADD COLUMN agency              text,
    ADD COLUMN agencies            text[] NOT NULL DEFAULT '{}',
    ADD COLUMN assignee            text,
    ADD COLUMN resolution          text,
    ADD COLUMN source              text NOT NULL DEFAULT 'rule',
    ADD COLUMN lat                 double precision,
    ADD COLUMN lon                 double precision,
    ADD COLUMN areas               text[] NOT NULL DEFAULT '{}',
    ADD COLUMN text                text,
    ADD COLUMN acknowledged_at     timestamptz,
    ADD COLUMN dispatched_at       timestamptz,
    ADD COLUMN closed_at           timestamptz,
    ADD COLUMN ack_deadline        timestamptz,
    ADD COLUMN resolve_deadline    timestamptz,
    ADD COLUMN escalations         integer NOT NULL DEFAULT 0,
    ADD COLUMN next_escalation_at  timestamptz;
UPDATE alerts SET active = (state = 'open'), cleared_at = resolved_at,
                  resolution = CASE WHEN state = 'resolved' THEN 'auto_cleared' END;
-- At most one unresolved alert per (rule, device); field reports have no device.
DROP INDEX alerts_one_open;
CREATE UNIQUE INDEX alerts_one_open ON alerts (rule, device)
    WHERE resolved_at IS NULL AND source = 'rule';
CREATE INDEX alerts_live ON alerts (id) WHERE resolved_at IS NULL OR active;

CREATE TABLE alert_events (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id    bigint NOT NULL REFERENCES alerts (id),
    ts          timestamptz NOT NULL,
    actor       text NOT NULL,
    kind        text NOT NULL,
    from_state  text,
    to_state    text,
    note        text,
    detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_events_by_alert ON alert_events (alert_id, seq);
-- The alerts of earlier versions get the timeline they had: opened, and resolved by the rule.
INSERT INTO alert_events (alert_id, ts, actor, kind)
SELECT id, opened_at, 'system', 'opened' FROM alerts ORDER BY id;
INSERT INTO alert_events (alert_id, ts, actor, kind, from_state, to_state)
SELECT id, resolved_at, 'system', 'auto_resolved', 'open', 'resolved'
FROM alerts WHERE resolved_at IS NOT NULL ORDER BY id;

CREATE TABLE alert_requests (
    actor       text NOT NULL,
    key         text NOT NULL,
    alert_id    bigint NOT NULL,
    action      text NOT NULL,
    ts          timestamptz NOT NULL,
    PRIMARY KEY (actor, key)
);
