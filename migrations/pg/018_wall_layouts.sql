-- iochub PostgreSQL schema, version 18: the video wall's named layouts (DESIGN §3b "Cameras").
-- A layout is a grid of 1, 4, 9 or 16 tiles and the camera of each tile, in order (`tiles`: a
-- JSON array of camera ids or nulls for empty tiles). A camera removed later leaves its tile
-- empty on the wall; the layout is not rewritten.
CREATE TABLE wall_layouts (
    name        text PRIMARY KEY,
    size        smallint NOT NULL,
    tiles       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL,
    updated_by  text NOT NULL
);
