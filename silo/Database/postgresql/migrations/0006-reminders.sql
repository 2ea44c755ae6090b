-- Reminders for Orleans' ADO.NET reminder service: durable timers that fire on whichever silo owns the grain, so
-- time-based work survives the death of the silo that registered it.
CREATE TABLE IF NOT EXISTS grain_reminder (
    service_id    text        NOT NULL,
    -- GrainId.ToString(), which the provider parses back
    grain_id      text        NOT NULL,
    reminder_name text        NOT NULL,
    start_utc     timestamptz NOT NULL,
    period_ms     bigint      NOT NULL,
    -- the grain's place on the ring (uint, sent as a signed int): which silo owns the reminder
    grain_hash    integer     NOT NULL,
    version       integer     NOT NULL,
    PRIMARY KEY (service_id, grain_id, reminder_name)
);
CREATE INDEX IF NOT EXISTS grain_reminder_by_hash ON grain_reminder (service_id, grain_hash);
