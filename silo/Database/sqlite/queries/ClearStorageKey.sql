-- Keeps the row (payload NULL) and bumps the version; only from the version the grain read.
UPDATE grain_state
SET payload = NULL, version = version + 1, modified_utc = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE version = @GrainStateVersion
  AND grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId AND state_name = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND (grain_id_ext IS NULL) = (@GrainIdExtensionString IS NULL) AND ifnull(grain_id_ext, '') = ifnull(@GrainIdExtensionString, '')
RETURNING version;
