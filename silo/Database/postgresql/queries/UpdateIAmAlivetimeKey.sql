-- The heartbeat: the version is not touched.
UPDATE cluster_member SET i_am_alive_utc = @IAmAliveTime
WHERE cluster_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation;
