-- An MDM sync looks for the devices of its source it did not name (missing from the MDM) by source and instance.
CREATE INDEX IF NOT EXISTS device_by_source ON grain_state (
    service_id, json_extract(payload, '$.Device.Source'), json_extract(payload, '$.Device.SourceName'))
    WHERE state_name = 'device';
