-- Where Orleans clients (client-mode gateways) may connect: the active silos that take clients.
SELECT address AS "Address", client_port AS "ProxyPort", generation AS "Generation"
FROM cluster_member
WHERE cluster_id = @DeploymentId AND status = @Status AND client_port > 0;
