-- iochub SQLite schema, version 13: issued reports (DESIGN §3b "Reports").
-- A report issued for a period is kept exactly as issued (its JSON, and the CSV made from it at
-- the same moment) with the SHA-256 of the JSON, which the audit trail also records. Data that
-- arrives later never changes it: issuing again makes the next version.
CREATE TABLE issued_reports (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    period     TEXT NOT NULL,
    version    INTEGER NOT NULL,
    issued_at  INTEGER NOT NULL,
    issued_by  TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    json       TEXT NOT NULL,
    csv        TEXT NOT NULL,
    UNIQUE (kind, period, version)
);
CREATE TRIGGER issued_reports_never_change BEFORE UPDATE ON issued_reports
BEGIN
    SELECT RAISE(ABORT, 'an issued report never changes; issue a new version');
END;
CREATE TRIGGER issued_reports_are_kept BEFORE DELETE ON issued_reports
BEGIN
    SELECT RAISE(ABORT, 'an issued report is kept');
END;
