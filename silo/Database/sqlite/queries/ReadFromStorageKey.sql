SELECT CAST(payload AS BLOB) AS PayloadBinary, version AS Version
FROM grain_state
WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId AND state_name = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND grain_id_ext IS @GrainIdExtensionString;
