-- iochub PostgreSQL schema, version 6: the audit trail. Append-only and hash-chained: each record
-- carries the hash of the one before (`prev_hash`) and its own (`hash`, over every field and that
-- link), so `iochub audit verify` finds any edited, removed or reordered record. Expiry removes
-- the oldest records and keeps the last removed one's seq and hash in `audit_anchor`, from which
-- the kept chain continues. Appends take an advisory lock, so that hubs sharing the database
-- number and chain one sequence.
CREATE TABLE audit (
    seq        bigint PRIMARY KEY,
    ts         timestamptz NOT NULL,
    actor      text NOT NULL,
    address    text NOT NULL,
    action     text NOT NULL,
    target     text NOT NULL,
    result     text NOT NULL,
    detail     text NOT NULL,
    prev_hash  text NOT NULL,
    hash       text NOT NULL
);
CREATE INDEX audit_by_ts ON audit (ts);
CREATE INDEX audit_by_actor ON audit (actor, seq);

CREATE TABLE audit_anchor (
    id    integer PRIMARY KEY CHECK (id = 1),
    seq   bigint NOT NULL,
    hash  text NOT NULL
);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
