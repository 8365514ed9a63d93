-- Table for the Node-RED durable flow (durable.json). It lives in its own schema so that it can
-- sit in the same database as the hub, whose own table is also called "readings".
-- Idempotent: safe to apply before every run (start.sh does, for FLOW=durable).
CREATE SCHEMA IF NOT EXISTS nodered;

-- The same work as the hub's `readings`: one row per (device, metric, ts), a redelivered message
-- stored once (the flow's INSERT says ON CONFLICT DO NOTHING). The hub keys on a series id, which
-- it maps from (device, metric); here the key holds the names.
CREATE TABLE IF NOT EXISTS nodered.readings (
    device  text NOT NULL,
    metric  text NOT NULL,
    ts      timestamptz NOT NULL,
    value   double precision NOT NULL,
    PRIMARY KEY (device, metric, ts)
);
