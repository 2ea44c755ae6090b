-- Remove a reminder only at the version the caller holds; true when it was removed.
WITH removed AS (
    DELETE FROM grain_reminder
    WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName AND version = @Version
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM removed);
