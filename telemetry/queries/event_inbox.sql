-- Named queries of the event inbox's consumer (table: migration 0003; filled by the ingest).

-- name: try_lane
-- A lane is worked by one worker at a time; held until the transaction ends.
SELECT pg_try_advisory_xact_lock(8201, $1::int);

-- name: oldest_in_lane
SELECT inbox_id, device_id, ts, seq, code, state, received_at
FROM event_inbox WHERE lane = $1 ORDER BY inbox_id LIMIT $2;

-- name: delete_handled
DELETE FROM event_inbox WHERE inbox_id = ANY($1::bigint[]);
