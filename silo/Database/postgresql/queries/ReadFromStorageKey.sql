-- The key extension is compared with "=" (IS NOT DISTINCT FROM is served by no index): every string-keyed grain
-- has n0 = n1 = 0, so without it a lookup walked every row of its kind in the identity index.
SELECT convert_to(payload::text, 'UTF8') AS "PayloadBinary", version AS "Version"
FROM grain_state
WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId AND state_name = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND (grain_id_ext = @GrainIdExtensionString OR (grain_id_ext IS NULL AND @GrainIdExtensionString IS NULL));
