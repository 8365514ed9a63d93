-- iochub SQLite schema, version 4: the audit trail. Append-only and hash-chained: each record
-- carries the hash of the one before (`prev_hash`) and its own (`hash`, over every field and that
-- link), so `iochub audit verify` finds any edited, removed or reordered record. Expiry removes
-- the oldest records and keeps the last removed one's seq and hash in `audit_anchor`, from which
-- the kept chain continues.
CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY,
    ts         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    address    TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    result     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_by_ts ON audit (ts);
CREATE INDEX audit_by_actor ON audit (actor, seq);

CREATE TABLE audit_anchor (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
);

CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
