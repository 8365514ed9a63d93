-- iochub PostgreSQL schema, version 17: cameras (DESIGN §3b "Cameras").
-- A camera is a device (its name, place and system are on its `devices` row); this is its video
-- side. The credentials are kept apart from the URL so the URL can be shown; the password must
-- be readable to log in to the camera, so it is stored as given: protect the database and its
-- backups as the cameras' own keys.
CREATE TABLE cameras (
    id          text PRIMARY KEY,
    url         text NOT NULL,
    sub_url     text,
    username    text,
    password    text,
    always_on   boolean NOT NULL DEFAULT false,
    transport   text NOT NULL DEFAULT 'tcp',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
