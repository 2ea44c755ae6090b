-- Cluster membership for Orleans' ADO.NET clustering provider: silos write their rows here, client-mode gateways
-- read the active silos' client ports from it. One version row per cluster id; every change to the members bumps it
-- (optimistic concurrency: a write made from a stale version changes nothing).
CREATE TABLE IF NOT EXISTS cluster_membership_version (
    cluster_id  text        NOT NULL PRIMARY KEY,
    version     integer     NOT NULL DEFAULT 0 CHECK (version >= 0),
    changed_utc timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS cluster_member (
    cluster_id      text        NOT NULL REFERENCES cluster_membership_version (cluster_id) ON DELETE CASCADE,
    address         text        NOT NULL,
    port            integer     NOT NULL,
    generation      integer     NOT NULL,
    silo_name       text        NOT NULL,
    host_name       text        NOT NULL,
    -- Orleans' SiloStatus: 1 created, 2 joining, 3 active, 4 shutting down, 5 stopping, 6 dead
    status          integer     NOT NULL,
    -- the silo's client port (Orleans: gateway port); 0 when it takes no clients
    client_port     integer     NOT NULL DEFAULT 0,
    suspect_times   text        NULL,
    start_utc       timestamptz NOT NULL,
    i_am_alive_utc  timestamptz NOT NULL,
    PRIMARY KEY (cluster_id, address, port, generation)
);
