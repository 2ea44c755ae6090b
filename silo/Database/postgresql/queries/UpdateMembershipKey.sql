-- A member's status or suspicions change: only from the current table version and only for an existing row.
WITH bumped AS (
    UPDATE cluster_membership_version SET version = version + 1, changed_utc = now()
    WHERE cluster_id = @DeploymentId AND version = @Version
      AND EXISTS (SELECT 1 FROM cluster_member
                  WHERE cluster_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation)
    RETURNING cluster_id
), changed AS (
    UPDATE cluster_member m
    SET status = @Status, suspect_times = @SuspectTimes, i_am_alive_utc = @IAmAliveTime
    FROM bumped
    WHERE m.cluster_id = bumped.cluster_id AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM changed);
