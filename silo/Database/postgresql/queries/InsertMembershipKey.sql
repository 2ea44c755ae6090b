-- A silo joins: only from the current table version and only if its row is new, in one statement. Concurrent
-- writers from the same version serialize on the version row's lock; the later one no longer matches.
WITH bumped AS (
    UPDATE cluster_membership_version SET version = version + 1, changed_utc = now()
    WHERE cluster_id = @DeploymentId AND version = @Version
      AND NOT EXISTS (SELECT 1 FROM cluster_member
                      WHERE cluster_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation)
    RETURNING cluster_id
), joined AS (
    INSERT INTO cluster_member (cluster_id, address, port, generation, silo_name, host_name, status, client_port,
                                start_utc, i_am_alive_utc)
    SELECT cluster_id, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime
    FROM bumped
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM joined);
