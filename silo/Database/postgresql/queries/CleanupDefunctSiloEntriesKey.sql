-- Drop members declared dead that have not been heard of since the cutoff; the version is not touched.
DELETE FROM cluster_member
WHERE cluster_id = @DeploymentId AND status = 6 AND i_am_alive_utc < @IAmAliveTime;
