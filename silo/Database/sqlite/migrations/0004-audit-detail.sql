-- Who acted by immutable id, what the event is about, the gRPC status of a refusal, and structured details
-- (JSON: before/after values, counts of sampled refusals). Indexes for the filters of `dtctl audit ls`.
ALTER TABLE audit_event ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_event ADD COLUMN target  TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_event ADD COLUMN status  TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_event ADD COLUMN details TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS audit_event_by_type   ON audit_event (type, id);
CREATE INDEX IF NOT EXISTS audit_event_by_user   ON audit_event (user_name, id);
CREATE INDEX IF NOT EXISTS audit_event_by_target ON audit_event (target, id);
CREATE INDEX IF NOT EXISTS audit_event_by_device ON audit_event (device_id, id);
-- "My devices" by the owner's immutable id (a re-created user name is a new user and owns nothing).
CREATE INDEX IF NOT EXISTS device_by_owner_id ON grain_state (service_id, json_extract(payload, '$.Device.OwnerId'))
    WHERE state_name = 'device';
