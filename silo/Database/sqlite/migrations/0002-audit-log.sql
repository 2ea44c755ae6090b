-- The audit log: append-only (the triggers refuse updates and deletes), written before an RPC reports success.
CREATE TABLE IF NOT EXISTS audit_event (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    time_utc      TEXT    NOT NULL,  -- ISO 8601, UTC, sortable as text
    type          TEXT    NOT NULL,
    success       INTEGER NOT NULL,
    user_name     TEXT    NOT NULL,
    device_id     TEXT    NOT NULL,
    asset_tag     TEXT    NOT NULL,
    os_type       TEXT    NOT NULL,
    credential_id TEXT    NOT NULL,
    client_ip     TEXT    NOT NULL,
    message       TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_event_by_time ON audit_event (time_utc);
CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
