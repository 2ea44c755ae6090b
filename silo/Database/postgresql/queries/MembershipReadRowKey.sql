-- The version row with one member, or with NULL member columns when that member is not there.
SELECT v.version AS "Version", m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
       m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status", m.client_port AS "ProxyPort",
       m.suspect_times AS "SuspectTimes", m.start_utc AS "StartTime", m.i_am_alive_utc AS "IAmAliveTime"
FROM cluster_membership_version v
LEFT JOIN cluster_member m ON m.cluster_id = v.cluster_id
    AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
WHERE v.cluster_id = @DeploymentId;
