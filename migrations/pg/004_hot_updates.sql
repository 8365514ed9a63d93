-- iochub PostgreSQL schema, version 4: room for HOT updates in the two tables every batch updates.
-- Each batch moves series.last_ts/last_value of every series it holds and devices.last_seen of
-- every device. Neither column is indexed, so PostgreSQL can write the new row version on the
-- same page without touching an index (a HOT update) if the page has room; with the default
-- fillfactor of 100 it never has, and every update wrote a new page entry in both of series'
-- indexes. Measured with scripts/bench-serve (docs/PERFORMANCE.md): the series update took ~11 µs
-- per row of a 7,440-reading batch, about 5 µs with room; the hub sustained 99,500 readings/s
-- at 140,000 offered before, 139,000 after.
-- Applies to pages written from now on; `VACUUM FULL series, devices` in a quiet moment gives
-- the rows of an existing store the room at once (docs/OPERATIONS.md).
ALTER TABLE series SET (fillfactor = 50);
ALTER TABLE devices SET (fillfactor = 50);
