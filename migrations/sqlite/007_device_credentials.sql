-- iochub SQLite schema, version 7: devices' MQTT credentials (only a PBKDF2 hash in Mosquitto's
-- own `$7$` format) and the gateway a device is registered behind.
ALTER TABLE devices ADD COLUMN gateway TEXT;
CREATE TABLE device_credentials (
    device     TEXT PRIMARY KEY,
    hash       TEXT NOT NULL,
    issued_at  INTEGER NOT NULL
);
