-- Grain state for Orleans' ADO.NET persistence provider, and the query registry it reads at start.
-- Requires PostgreSQL 15 or later (UNIQUE NULLS NOT DISTINCT).

-- Unquoted on purpose: the provider's own SELECT names it unquoted, so it must fold to orleansquery.
CREATE TABLE IF NOT EXISTS OrleansQuery (
    QueryKey  text NOT NULL PRIMARY KEY,
    QueryText text NOT NULL
);

CREATE TABLE IF NOT EXISTS grain_state (
    service_id      text        NOT NULL,
    -- the [PersistentState] name: identity is (service, state name, key), never the grain class
    state_name      text        NOT NULL,
    grain_id_hash   integer     NOT NULL,
    grain_type_hash integer     NOT NULL,
    grain_id_n0     bigint      NOT NULL,
    grain_id_n1     bigint      NOT NULL,
    grain_id_ext    text        NULL,
    -- JSON written by System.Text.Json; jsonb so operators can query it
    payload         jsonb       NULL,
    version         integer     NOT NULL,
    modified_utc    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT grain_state_identity UNIQUE NULLS NOT DISTINCT (service_id, state_name, grain_id_n0, grain_id_n1, grain_id_ext)
);

CREATE INDEX IF NOT EXISTS grain_state_lookup ON grain_state (grain_id_hash, grain_type_hash);
CREATE INDEX IF NOT EXISTS grain_state_by_key ON grain_state (service_id, state_name, grain_id_ext);
