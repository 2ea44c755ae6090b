-- Grain state for Orleans' ADO.NET persistence provider, and the query registry it reads at start.
-- Payloads are JSON (System.Text.Json) stored as TEXT so operators can read them with json_extract().

CREATE TABLE IF NOT EXISTS OrleansQuery (
    QueryKey  TEXT NOT NULL PRIMARY KEY,
    QueryText TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS grain_state (
    service_id      TEXT    NOT NULL,
    -- the [PersistentState] name: identity is (service, state name, key), never the grain class
    state_name      TEXT    NOT NULL,
    grain_id_hash   INTEGER NOT NULL,
    grain_type_hash INTEGER NOT NULL,
    grain_id_n0     INTEGER NOT NULL,
    grain_id_n1     INTEGER NOT NULL,
    -- string keys, or the key extension of integer/Guid keys
    grain_id_ext    TEXT    NULL,
    payload         TEXT    NULL,
    version         INTEGER NOT NULL,
    modified_utc    TEXT    NOT NULL
);

-- SQLite treats NULLs as distinct in UNIQUE: index the NULL-ness and a coalesced value instead.
CREATE UNIQUE INDEX IF NOT EXISTS grain_state_identity
    ON grain_state (service_id, state_name, grain_id_n0, grain_id_n1, grain_id_ext IS NULL, ifnull(grain_id_ext, ''));

-- Point lookups by the provider's hashes (string keys all have n0 = n1 = 0).
CREATE INDEX IF NOT EXISTS grain_state_lookup ON grain_state (grain_id_hash, grain_type_hash);

-- Listing one kind of state in key order (users, roles, ...), without activating grains.
CREATE INDEX IF NOT EXISTS grain_state_by_key ON grain_state (service_id, state_name, grain_id_ext);
