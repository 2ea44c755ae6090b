-- Forget every reminder of a service (Orleans calls this from tests only).
DELETE FROM grain_reminder WHERE service_id = @ServiceId;
