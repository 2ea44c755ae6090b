-- The cluster's version row, made once; true when this call made it.
WITH made AS (
    INSERT INTO cluster_membership_version (cluster_id) VALUES (@DeploymentId)
    ON CONFLICT (cluster_id) DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM made);
