-- One statement, so the insert path and the update path are atomic together.
-- First write (no version): insert unless a row exists. Later writes: only from the version the grain read;
-- concurrent writers with the same version serialize on the row lock and only the first still matches.
WITH inserted AS (
    INSERT INTO grain_state (service_id, state_name, grain_id_hash, grain_type_hash, grain_id_n0, grain_id_n1, grain_id_ext,
                             payload, version)
    SELECT @ServiceId, @GrainTypeString, @GrainIdHash, @GrainTypeHash, @GrainIdN0, @GrainIdN1, @GrainIdExtensionString,
           convert_from(@PayloadBinary, 'UTF8')::jsonb, 1
    WHERE @GrainStateVersion IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version
), updated AS (
    UPDATE grain_state
    SET payload = convert_from(@PayloadBinary, 'UTF8')::jsonb, version = version + 1, modified_utc = now()
    WHERE @GrainStateVersion IS NOT NULL AND version = @GrainStateVersion
      AND grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
      AND service_id = @ServiceId AND state_name = @GrainTypeString
      AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
      AND (grain_id_ext = @GrainIdExtensionString OR (grain_id_ext IS NULL AND @GrainIdExtensionString IS NULL))
    RETURNING version
)
SELECT version AS "NewGrainStateVersion" FROM inserted
UNION ALL
SELECT version FROM updated;
