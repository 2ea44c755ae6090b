-- First write (no version): insert only if no row exists for this identity; a conflict returns no row.
INSERT INTO grain_state (service_id, state_name, grain_id_hash, grain_type_hash, grain_id_n0, grain_id_n1, grain_id_ext,
                         payload, version, modified_utc)
SELECT @ServiceId, @GrainTypeString, @GrainIdHash, @GrainTypeHash, @GrainIdN0, @GrainIdN1, @GrainIdExtensionString,
       CAST(@PayloadBinary AS TEXT), 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE @GrainStateVersion IS NULL
ON CONFLICT DO NOTHING
RETURNING version AS NewGrainStateVersion;
-- Later writes: only when the stored version is the one the grain read (optimistic concurrency).
UPDATE grain_state
SET payload = CAST(@PayloadBinary AS TEXT), version = version + 1, modified_utc = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE @GrainStateVersion IS NOT NULL AND version = @GrainStateVersion
  AND grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId AND state_name = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND (grain_id_ext IS NULL) = (@GrainIdExtensionString IS NULL) AND ifnull(grain_id_ext, '') = ifnull(@GrainIdExtensionString, '')
RETURNING version AS NewGrainStateVersion;
