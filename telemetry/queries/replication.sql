-- Named queries of the synchronous-standby watch (telemetry/replication.py).

-- name: standing
-- Where this server stands: a primary or a standby, the standby list in force, and the standbys
-- streaming to it under one of $1 (the names the policy keeps).
SELECT pg_is_in_recovery() AS in_recovery,
       current_setting('synchronous_standby_names') AS in_force,
       (SELECT count(*) FROM pg_stat_replication
        WHERE state = 'streaming' AND application_name = ANY($1::text[]))::int AS streaming;

-- name: set_standbys
-- ALTER SYSTEM takes no parameters: the statement is built with the value quoted as a literal.
SELECT format('ALTER SYSTEM SET synchronous_standby_names = %L', $1::text);

-- name: reload
SELECT pg_reload_conf();

-- name: record_event
INSERT INTO replication_events (event, detail) VALUES ($1, $2);

-- name: has_events_table
-- False on a replicated set whose schema is not migrated yet (no event to record there).
SELECT to_regclass('replication_events') IS NOT NULL;

-- name: latest_event
SELECT event, at FROM replication_events ORDER BY event_id DESC LIMIT 1;
