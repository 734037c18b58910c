-- Named queries of area incidents (migration 0025).

-- name: device_region
SELECT region FROM devices WHERE device_id = $1;

-- name: lock_open_incident
SELECT incident_id FROM area_incidents WHERE region = $1 AND family = $2 AND status = 'open' FOR UPDATE;

-- name: recent_cases
-- The open cases of the family in the region first raised since $3 that an incident may hold: not a
-- safety ticket (those stay on their own), not held already. Locked.
SELECT fc.case_id, fc.device_id, fc.code, fc.status, fc.ticket_id, fc.first_raised_at
FROM fault_cases AS fc
JOIN devices AS d USING (device_id)
LEFT JOIN tickets AS t ON t.ticket_id = fc.ticket_id
WHERE d.region = $1 AND fc.family = $2 AND fc.first_raised_at >= $3
  AND fc.status IN ('guidance', 'informed', 'ticketed')
  AND (t.ticket_id IS NULL OR (t.kind IN ('repair', 'planned') AND t.status IN ('open', 'contacted')))
  AND NOT (fc.code = ANY ($4::text[]))
ORDER BY fc.first_raised_at
FOR UPDATE OF fc;

-- name: open_incident
INSERT INTO area_incidents (region, family, first_fault_at) VALUES ($1, $2, $3)
ON CONFLICT (region, family) WHERE status = 'open' DO NOTHING
RETURNING incident_id;

-- name: join_device
WITH joined AS (
    INSERT INTO incident_devices (incident_id, device_id, case_id, code) VALUES ($1, $2, $3, $4)
    ON CONFLICT (incident_id, device_id) DO UPDATE SET cleared_at = NULL, case_id = EXCLUDED.case_id
    RETURNING (xmax = 0) AS new
)
UPDATE area_incidents SET devices = devices + (SELECT count(*) FROM joined WHERE new)::int
WHERE incident_id = $1;

-- name: incident_of_case
SELECT incident_id FROM incident_devices WHERE case_id = $1 ORDER BY joined_at DESC LIMIT 1;

-- name: device_cleared
WITH c AS (
    UPDATE incident_devices SET cleared_at = $3 WHERE incident_id = $1 AND case_id = $2 AND cleared_at IS NULL
    RETURNING 1
)
UPDATE area_incidents SET cleared = cleared + (SELECT count(*) FROM c)::int WHERE incident_id = $1;

-- name: device_failed_again
WITH c AS (
    UPDATE incident_devices SET cleared_at = NULL WHERE incident_id = $1 AND case_id = $2 AND cleared_at IS NOT NULL
    RETURNING 1
)
UPDATE area_incidents SET cleared = cleared - (SELECT count(*) FROM c)::int WHERE incident_id = $1;

-- name: timeline
INSERT INTO incident_timeline (incident_id, actor, action, note) VALUES ($1, $2, $3, $4);

-- name: lock_incident
SELECT incident_id, region, family, status, first_fault_at, opened_at, resolved_at, owner, devices, cleared, ticketed
FROM area_incidents WHERE incident_id = $1 FOR UPDATE;

-- name: incident
SELECT incident_id, region, family, status, first_fault_at, opened_at, resolved_at, owner, devices, cleared, ticketed
FROM area_incidents WHERE incident_id = $1;

-- name: list_incidents
SELECT incident_id, region, family, status, first_fault_at, opened_at, resolved_at, owner, devices, cleared, ticketed
FROM area_incidents
WHERE ($1::text IS NULL OR status = $1)
ORDER BY incident_id DESC LIMIT $2;

-- name: incident_timeline
SELECT at, actor, action, note FROM incident_timeline WHERE incident_id = $1 ORDER BY entry_id;

-- name: held_devices
-- The devices an incident still holds, and whether their case's code is active on the device now.
SELECT i.device_id, i.case_id, fc.code, fc.family,
       EXISTS (SELECT 1 FROM device_faults AS f WHERE f.device_id = i.device_id AND f.code = fc.code AND f.active)
           AS still_failing
FROM incident_devices AS i JOIN fault_cases AS fc USING (case_id)
WHERE i.incident_id = $1 AND fc.status = 'incident'
ORDER BY i.device_id;

-- name: set_owner
UPDATE area_incidents SET owner = $2 WHERE incident_id = $1;

-- name: resolve
UPDATE area_incidents SET status = 'resolved', resolved_at = $2, ticketed = $3 WHERE incident_id = $1;

-- name: record_ticket
UPDATE incident_devices SET ticket_id = $3 WHERE incident_id = $1 AND case_id = $2;

-- name: quiet_incidents
-- Open incidents no device joined for $1 and whose devices have mostly cleared ($2: the share).
SELECT a.incident_id FROM area_incidents AS a
WHERE a.status = 'open' AND a.devices > 0 AND a.cleared >= $2 * a.devices
  AND NOT EXISTS (SELECT 1 FROM incident_devices AS i WHERE i.incident_id = a.incident_id
                  AND (i.joined_at > clock_timestamp() - $1::interval OR i.cleared_at > clock_timestamp() - $1::interval))
ORDER BY a.incident_id;

