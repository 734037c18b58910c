-- Named queries of the read routing (api/read_routing.py).

-- name: replica_lag
-- How far behind the primary this server's data is, in seconds: 0 on a primary, and on a standby that
-- has replayed all it received (with synchronous replication, everything the primary committed);
-- else the age of the last transaction it replayed.
SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0.0
            WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0.0
            ELSE coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 1e9)::float8
       END AS lag_s,
       pg_is_in_recovery() AS standby;
