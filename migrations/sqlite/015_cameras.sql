-- iochub SQLite schema, version 15: cameras (DESIGN §3b "Cameras").
-- A camera is a device (its name, place and system are on its `devices` row); this is its video
-- side. The credentials are kept apart from the URL so the URL can be shown; the password must
-- be readable to log in to the camera, so it is stored as given: protect the database and its
-- backups as the cameras' own keys.
CREATE TABLE cameras (
    id          TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    sub_url     TEXT,
    username    TEXT,
    password    TEXT,
    always_on   INTEGER NOT NULL DEFAULT 0,
    transport   TEXT NOT NULL DEFAULT 'tcp',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
