-- The key extension is compared through the identity index's own expressions (IS alone is served by no index):
-- every string-keyed grain has n0 = n1 = 0, so without them a lookup walked every row of its kind.
SELECT CAST(payload AS BLOB) AS PayloadBinary, version AS Version
FROM grain_state
WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId AND state_name = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND (grain_id_ext IS NULL) = (@GrainIdExtensionString IS NULL) AND ifnull(grain_id_ext, '') = ifnull(@GrainIdExtensionString, '');
