-- Named queries of the maintenance job (Apache edition): hourly rollup bookkeeping and retention.
-- The recomputation itself is `refresh_hourly` in rollup_refresh.sql.

-- name: try_refresh_lock
-- Held until the caller's transaction ends; false when another worker is refreshing.
SELECT pg_try_advisory_xact_lock($1);

-- name: refresh_state
-- Where the refresh resumes: the watermark, or before the first refresh the oldest reading's hour
-- (NULL when there are no readings); and the newest pending invalidation. Locks the watermark row.
SELECT w.watermark = 'infinity' AS server_managed,
       CASE WHEN isfinite(w.watermark) THEN w.watermark
            ELSE (SELECT time_bucket(INTERVAL '1 hour', min(r.ts)) FROM readings AS r) END AS resume_from,
       (SELECT max(i.invalidation_id) FROM rollup_invalidation AS i
        WHERE i.rollup = 'readings_hourly') AS max_invalidation_id
FROM rollup_watermark AS w
WHERE w.rollup = 'readings_hourly'
FOR UPDATE OF w;

-- name: pending_invalidations
-- Whole hours touched by late readings, for invalidations up to id $1.
SELECT time_bucket(INTERVAL '1 hour', low) AS low,
       time_bucket(INTERVAL '1 hour', greatest(low, high)) + INTERVAL '1 hour' AS high
FROM rollup_invalidation
WHERE rollup = 'readings_hourly' AND invalidation_id <= $1
ORDER BY low;

-- name: advance_watermark
-- Never moves backwards.
UPDATE rollup_watermark SET watermark = greatest(watermark, $1::timestamptz)
WHERE rollup = 'readings_hourly'
RETURNING watermark;

-- name: clear_invalidations
WITH cleared AS (
    DELETE FROM rollup_invalidation
    WHERE rollup = 'readings_hourly' AND invalidation_id <= $1
    RETURNING 1
)
SELECT count(*) FROM cleared;

-- name: drop_reading_chunks
-- Whole chunks entirely older than now() - $1.
SELECT count(*) FROM drop_chunks('readings', older_than => $1::interval);

-- name: drop_event_chunks
SELECT count(*) FROM drop_chunks('events', older_than => $1::interval);

-- name: drop_rollup_chunks
SELECT count(*) FROM drop_chunks('readings_hourly', older_than => $1::interval);

-- name: purge_quarantine
WITH purged AS (
    DELETE FROM quarantine WHERE last_seen < now() - $1::interval
    RETURNING 1
)
SELECT count(*) FROM purged;
