-- The audit log: append-only (the trigger refuses updates and deletes), written before an RPC reports success.
CREATE TABLE IF NOT EXISTS audit_event (
    id            bigserial   PRIMARY KEY,
    time_utc      timestamptz NOT NULL,
    type          text        NOT NULL,
    success       boolean     NOT NULL,
    user_name     text        NOT NULL,
    device_id     text        NOT NULL,
    asset_tag     text        NOT NULL,
    os_type       text        NOT NULL,
    credential_id text        NOT NULL,
    client_ip     text        NOT NULL,
    message       text        NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_event_by_time ON audit_event (time_utc);
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
