-- Named queries of `ondol surge` (ondol/surge_eval.py): the simulated world written directly (what
-- the gateway and the households would have produced), and what the evaluation reads back.

-- name: fault_state
INSERT INTO device_faults (device_id, code, active, raised_at, changed_at, seq) VALUES ($1, $2, $3, $4, $4, $5)
ON CONFLICT (device_id, code) DO UPDATE SET active = $3, raised_at = $4, changed_at = $4, seq = $5;

-- name: froze_before
INSERT INTO fault_cases (device_id, family, code, status, first_raised_at, last_raised_at, rule)
SELECT d, 'condensate', 'E025', 'closed', now() - interval '300 days', now() - interval '300 days', 'history'
FROM unnest($1::text[]) AS d;

-- name: health_days
-- Reporting, but no burner firing for three days: a home that looks empty.
INSERT INTO device_health_daily (device_id, day, samples, firing)
SELECT d, $2::date - k, 1440, 0 FROM unnest($1::text[]) AS d, generate_series(0, 2) AS k;

-- name: consent
INSERT INTO remote_consents (device_id, scope, granted_by, granted_via)
SELECT d, '{set_mode}', 'customer', 'customer' FROM unnest($1::text[]) AS d;

-- name: preparation
SELECT device_id, risk FROM freeze_preparations;

-- name: freeze_prep_contacts
SELECT a.device_id, c.consent_alerts, c.quiet_start, c.quiet_end
FROM customer_alerts AS a JOIN device_contacts AS c ON c.contact_id = a.contact_id
WHERE a.kind = 'freeze_prep';

-- name: held_of
SELECT count(*) FROM incident_devices WHERE device_id = ANY ($1::text[]);

-- name: tickets_by_rule
SELECT rule, count(*) AS n FROM tickets GROUP BY rule;

-- name: vulnerable_contacts
-- The vulnerable households among $1 with their contact's quiet hours and the first message about the
-- fault queued for them (incident broadcast or safety alert).
SELECT DISTINCT ON (d.device_id) d.device_id, c.quiet_start, c.quiet_end, a.kind
FROM devices AS d
JOIN device_contacts AS c ON c.device_id = d.device_id
JOIN customer_alerts AS a ON a.device_id = d.device_id AND a.kind IN ('incident', 'safety', 'emergency', 'guidance')
WHERE d.device_id = ANY ($1::text[]) AND d.vulnerable
ORDER BY d.device_id, a.alert_id;

-- name: vulnerable
UPDATE devices SET vulnerable = true WHERE device_id = ANY ($1::text[]);

-- name: own_cases_of
-- Of the devices $1, how many have an open case of their own (not held by an incident).
SELECT count(DISTINCT device_id) FROM fault_cases
WHERE device_id = ANY ($1::text[]) AND status IN ('guidance', 'informed', 'ticketed');

-- name: daily_calls
SELECT (at AT TIME ZONE 'Asia/Seoul')::date AS day, count(*) AS calls FROM inbound_calls
WHERE region = $1 AND at >= ($2::date)::timestamp AT TIME ZONE 'Asia/Seoul'
  AND at < ($3::date + 1)::timestamp AT TIME ZONE 'Asia/Seoul'
GROUP BY day;
