-- Removes the row; returns 0, which never equals a stored version (they start at 1), as the provider requires.
DELETE FROM grain_state
WHERE version = @GrainStateVersion
  AND grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId AND state_name = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND (grain_id_ext IS NULL) = (@GrainIdExtensionString IS NULL) AND ifnull(grain_id_ext, '') = ifnull(@GrainIdExtensionString, '')
RETURNING 0;
