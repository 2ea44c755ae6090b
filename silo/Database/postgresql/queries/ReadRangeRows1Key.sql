-- The reminders a silo owns when its range of the ring does not wrap: Begin < hash <= End.
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_utc AS "StartTime", period_ms AS "Period", version AS "Version"
FROM grain_reminder
WHERE service_id = @ServiceId AND grain_hash > @BeginHash AND grain_hash <= @EndHash;
