-- iochub PostgreSQL schema, version 9: devices' MQTT credentials (only a PBKDF2 hash in
-- Mosquitto's own `$7$` format) and the gateway a device is registered behind.
ALTER TABLE devices ADD COLUMN gateway text;
CREATE TABLE device_credentials (
    device     text PRIMARY KEY,
    hash       text NOT NULL,
    issued_at  timestamptz NOT NULL
);
