-- Named queries of offline episodes (migration 0010): the mark on device_state.

-- name: mark_gone_offline
-- Devices gone offline since they were last told about, marked once per episode. Devices never
-- heard from have no state row and are not "gone".
WITH gone AS (
    SELECT s.device_id
    FROM device_state AS s JOIN devices AS d ON d.device_id = s.device_id
    WHERE s.offline_notified_at IS NULL AND NOT device_online(s.connected, s.last_seen, d.report_interval_s)
    ORDER BY s.device_id LIMIT $1
    FOR UPDATE OF s SKIP LOCKED
), marked AS (
    UPDATE device_state AS s SET offline_notified_at = clock_timestamp()
    FROM gone WHERE s.device_id = gone.device_id
    RETURNING s.device_id, s.last_seen, s.connected, s.offline_notified_at
)
SELECT m.device_id, d.model, d.region, m.last_seen, m.connected IS FALSE AS disconnected,
       m.offline_notified_at AS detected_at
FROM marked AS m JOIN devices AS d ON d.device_id = m.device_id
ORDER BY m.device_id;

-- name: clear_returned
-- Devices online again: their next disappearance is a new episode.
UPDATE device_state AS s SET offline_notified_at = NULL
FROM devices AS d
WHERE d.device_id = s.device_id AND s.offline_notified_at IS NOT NULL
  AND device_online(s.connected, s.last_seen, d.report_interval_s);
