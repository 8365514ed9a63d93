-- iochub PostgreSQL schema, version 12: notifications to the agencies' webhooks (an outbox),
-- and photos attached to alerts.
-- A delivery is written in the same transaction as the alert change it announces, with its body
-- exactly as it will be signed and sent; it stays `pending` until the agency's system answers
-- 2xx (`delivered`), or its retry time runs out (`dead`). Its id is the X-Iochub-Delivery header,
-- the same on every attempt. An alert lists the agencies whose notification is dead (undelivered),
-- which the supervisor sees.
-- Escalation tiers count from when the hub opened the alert (created_at, wall clock; the reading
-- time opened_at may be older) and follow the escalation of the severity it opened with.
ALTER TABLE alerts ADD COLUMN created_at timestamptz;
ALTER TABLE alerts ADD COLUMN opened_severity text;
ALTER TABLE alerts ADD COLUMN undelivered text[] NOT NULL DEFAULT '{}';
CREATE TABLE deliveries (
    id               text PRIMARY KEY,
    alert_id         bigint NOT NULL REFERENCES alerts (id),
    agency           text NOT NULL,
    event            text NOT NULL,
    body             text NOT NULL,
    state            text NOT NULL DEFAULT 'pending',
    attempts         integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL,
    next_attempt_at  timestamptz NOT NULL,
    delivered_at     timestamptz,
    last_status      integer,
    last_error       text
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_by_alert ON deliveries (alert_id, created_at);

-- Photos attached to an alert (a field report's, a comment's): JPEG or PNG, size-limited by the
-- API, named by their SHA-256 (the timeline entry that brought one names it).
CREATE TABLE attachments (
    alert_id    bigint NOT NULL REFERENCES alerts (id),
    sha256      text NOT NULL,
    mime        text NOT NULL,
    size        integer NOT NULL,
    bytes       bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    actor       text NOT NULL,
    PRIMARY KEY (alert_id, sha256)
);
