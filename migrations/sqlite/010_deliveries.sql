-- iochub SQLite schema, version 10: notifications to the agencies' webhooks (an outbox), and
-- photos attached to alerts.
-- A delivery is written in the same transaction as the alert change it announces, with its body
-- exactly as it will be signed and sent; it stays `pending` until the agency's system answers
-- 2xx (`delivered`), or its retry time runs out (`dead`). Its id is the X-Iochub-Delivery header,
-- the same on every attempt. An alert lists the agencies whose notification is dead (undelivered),
-- which the supervisor sees.
-- Escalation tiers count from when the hub opened the alert (created_at, wall clock; the reading
-- time opened_at may be older) and follow the escalation of the severity it opened with.
ALTER TABLE alerts ADD COLUMN created_at INTEGER;
ALTER TABLE alerts ADD COLUMN opened_severity TEXT;
ALTER TABLE alerts ADD COLUMN undelivered TEXT NOT NULL DEFAULT '[]';
CREATE TABLE deliveries (
    id               TEXT PRIMARY KEY,
    alert_id         INTEGER NOT NULL REFERENCES alerts (id),
    agency           TEXT NOT NULL,
    event            TEXT NOT NULL,
    body             TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    delivered_at     INTEGER,
    last_status      INTEGER,
    last_error       TEXT
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_by_alert ON deliveries (alert_id, created_at);

-- Photos attached to an alert (a field report's, a comment's): JPEG or PNG, size-limited by the
-- API, named by their SHA-256 (the timeline entry that brought one names it).
CREATE TABLE attachments (
    alert_id    INTEGER NOT NULL REFERENCES alerts (id),
    sha256      TEXT NOT NULL,
    mime        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    bytes       BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    PRIMARY KEY (alert_id, sha256)
);
