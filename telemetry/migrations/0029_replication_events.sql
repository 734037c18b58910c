-- What the synchronous-standby watch did (telemetry/replication.py): 'degraded' when the primary
-- went on alone, committing without a standby's copy, and 'restored' when a standby streams again
-- and commits wait for its copy once more. The metrics read the latest row (docs/reliability.md).

CREATE TABLE replication_events (
    event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event text NOT NULL CHECK (event IN ('degraded', 'restored')),
    detail text NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
