-- iochub PostgreSQL schema, version 15: issued reports (DESIGN §3b "Reports").
-- A report issued for a period is kept exactly as issued (its JSON, and the CSV made from it at
-- the same moment) with the SHA-256 of the JSON, which the audit trail also records. Data that
-- arrives later never changes it: issuing again makes the next version.
CREATE TABLE issued_reports (
    id         bigserial PRIMARY KEY,
    kind       text NOT NULL,
    period     text NOT NULL,
    version    integer NOT NULL,
    issued_at  timestamptz NOT NULL,
    issued_by  text NOT NULL,
    sha256     text NOT NULL,
    json       text NOT NULL,
    csv        text NOT NULL,
    UNIQUE (kind, period, version)
);
CREATE FUNCTION issued_reports_never_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'an issued report never changes; issue a new version';
END
$$;
CREATE TRIGGER issued_reports_never_change BEFORE UPDATE OR DELETE ON issued_reports
    FOR EACH ROW EXECUTE FUNCTION issued_reports_never_change();
CREATE TRIGGER issued_reports_never_truncated BEFORE TRUNCATE ON issued_reports
    FOR EACH STATEMENT EXECUTE FUNCTION issued_reports_never_change();
