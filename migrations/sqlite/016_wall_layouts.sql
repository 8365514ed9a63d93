-- iochub SQLite schema, version 16: the video wall's named layouts (DESIGN §3b "Cameras").
-- A layout is a grid of 1, 4, 9 or 16 tiles and the camera of each tile, in order (`tiles`: a
-- JSON array of camera ids or nulls for empty tiles). A camera removed later leaves its tile
-- empty on the wall; the layout is not rewritten.
CREATE TABLE wall_layouts (
    name        TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    tiles       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT NOT NULL
);
