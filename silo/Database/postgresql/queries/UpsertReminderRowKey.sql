-- Register or change a reminder; every write gives it a new version (its ETag). A new row starts at a random version,
-- so an ETag held from before a delete and a new registration cannot match the new row.
INSERT INTO grain_reminder (service_id, grain_id, reminder_name, start_utc, period_ms, grain_hash, version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, floor(random() * 1000000000)::integer)
ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
SET start_utc = excluded.start_utc, period_ms = excluded.period_ms, grain_hash = excluded.grain_hash,
    version = grain_reminder.version % 2000000000 + 1
RETURNING version AS "Version";
