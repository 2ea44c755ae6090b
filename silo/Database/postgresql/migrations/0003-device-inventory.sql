-- Inventory listing reads device rows directly, in (asset tag, OS, id) order, and "my devices" by owner.
CREATE INDEX IF NOT EXISTS device_inventory ON grain_state (
    service_id, (payload #>> '{Device,AssetTag}'), (payload #>> '{Device,OsType}'), (payload #>> '{Device,Id}'))
    WHERE state_name = 'device';
CREATE INDEX IF NOT EXISTS device_by_owner ON grain_state (service_id, (payload #>> '{Device,Owner}'))
    WHERE state_name = 'device';
