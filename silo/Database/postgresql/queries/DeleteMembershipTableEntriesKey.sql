-- Forget a whole cluster id (Orleans calls this from tests only); members go with the version row.
DELETE FROM cluster_membership_version WHERE cluster_id = @DeploymentId;
