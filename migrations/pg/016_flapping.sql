-- iochub PostgreSQL schema, version 16: the flap hold of a rule (DESIGN §3b "Rules file, all
-- kinds"). An alert whose condition keeps coming and going is held open as flapping instead of
-- being resolved and opened again (and paged again) each time; the flag shows it.
ALTER TABLE alerts ADD COLUMN flapping boolean NOT NULL DEFAULT false;
