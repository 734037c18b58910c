-- name: lock_desired_state
-- Serialises requests for one device: the version check, the rate limit and the once-per-case rule
-- all read what the previous request wrote.
WITH made AS (
    INSERT INTO device_desired_state (device_id) VALUES ($1) ON CONFLICT (device_id) DO NOTHING
)
SELECT version, desired FROM device_desired_state WHERE device_id = $1 FOR UPDATE;

-- name: request_context
-- $1 device, $2 safety-critical codes, $3 now, $4 rate window start
SELECT d.model,
       (SELECT c.scope FROM remote_consents AS c
        WHERE c.device_id = d.device_id AND c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > $3)
        ORDER BY c.consent_id DESC LIMIT 1) AS consent_scope,
       ARRAY(SELECT f.code FROM device_faults AS f WHERE f.device_id = d.device_id AND f.active ORDER BY f.code)
           AS active_codes,
       (SELECT max(f.raised_at) FROM device_faults AS f WHERE f.device_id = d.device_id AND f.code = ANY ($2::text[]))
           AS safety_raised_at,
       (SELECT fc.case_id FROM fault_cases AS fc
        WHERE fc.device_id = d.device_id AND fc.status IN ('guidance', 'informed', 'ticketed')
        ORDER BY fc.last_raised_at DESC LIMIT 1) AS open_case_id,
       (SELECT max(c.created_at) FROM commands AS c
        WHERE c.device_id = d.device_id AND c.kind = 'lockout_reset' AND c.state NOT IN ('rejected', 'cancelled')
          AND NOT (c.state = 'expired' AND c.sent_at IS NULL)) AS last_reset_at,
       (SELECT count(*) FROM commands AS c
        WHERE c.device_id = d.device_id AND c.created_at >= $4 AND c.state <> 'rejected') AS recent_commands
FROM devices AS d WHERE d.device_id = $1;

-- name: resets_on_case
SELECT count(*) FROM commands
WHERE case_id = $1 AND kind = 'lockout_reset' AND state NOT IN ('rejected', 'cancelled')
  AND NOT (state = 'expired' AND sent_at IS NULL);

-- name: insert_command
INSERT INTO commands (command_id, device_id, kind, params, requested_by, requested_key, role, reason, ticket_id,
                      case_id, desired_version, created_at, expires_at, state, result, updated_by)
VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb, $5)
RETURNING *;

-- name: update_desired_state
UPDATE device_desired_state SET desired = desired || $2::jsonb, version = version + 1, updated_at = clock_timestamp(),
                                updated_by = $3
WHERE device_id = $1
RETURNING version;

-- name: notify_commands
SELECT pg_notify('ondol_commands', $1);

-- name: get_command
SELECT * FROM commands WHERE command_id = $1;

-- name: device_commands
SELECT * FROM commands WHERE device_id = $1 ORDER BY created_at DESC, command_id LIMIT $2;

-- name: command_transitions
SELECT transition_id, at, from_state, to_state, actor, detail FROM command_transitions
WHERE command_id = $1 ORDER BY transition_id;

-- name: cancel_command
UPDATE commands SET state = 'cancelled', updated_at = clock_timestamp(), updated_by = $2,
                    result = jsonb_build_object('by', $2::text, 'detail', 'cancelled before the boiler took it')
WHERE command_id = $1 AND state IN ('queued', 'sent')
RETURNING *;

-- name: claim_dispatchable
-- Commands a connected device should get now, oldest first per device: queued ones, and sent ones the
-- device has not acknowledged within $2 seconds (a delivery lost with a connection; the device answers
-- a repeated id without running it twice). Past their expiry they are never sent.
SELECT c.command_id, c.device_id, c.kind, c.params, c.created_at, c.expires_at, c.attempts
FROM commands AS c JOIN device_state AS s USING (device_id)
WHERE c.state IN ('queued', 'sent') AND s.connected
  AND c.expires_at > clock_timestamp() + make_interval(secs => 1)
  AND (c.state = 'queued' OR c.sent_at < clock_timestamp() - make_interval(secs => $2))
ORDER BY c.device_id, c.created_at, c.command_id
LIMIT $1
FOR UPDATE OF c SKIP LOCKED;

-- name: mark_sent
UPDATE commands SET state = 'sent', sent_at = clock_timestamp(), attempts = attempts + 1,
                    updated_at = clock_timestamp(), updated_by = 'dispatcher'
WHERE command_id = $1 AND state IN ('queued', 'sent');

-- name: expire_due
-- Queued or sent and not acknowledged by the device before their expiry: expired, never delivered late.
-- Delivered ones whose result has not come $1 seconds after their expiry: failed, the device silent.
WITH expired AS (
    UPDATE commands SET state = 'expired', updated_at = clock_timestamp(), updated_by = 'dispatcher',
                        result = jsonb_build_object('by', 'dispatcher', 'detail',
                            CASE WHEN state = 'queued' THEN 'expired before the boiler was online'
                                 ELSE 'expired before the boiler acknowledged it' END)
    WHERE state IN ('queued', 'sent') AND expires_at <= clock_timestamp()
    RETURNING command_id
), silent AS (
    UPDATE commands SET state = 'failed', updated_at = clock_timestamp(), updated_by = 'dispatcher',
                        result = jsonb_build_object('by', 'dispatcher', 'detail', 'the boiler accepted it and never reported a result')
    WHERE state = 'delivered' AND expires_at <= clock_timestamp() - make_interval(secs => $1)
    RETURNING command_id
)
SELECT (SELECT count(*) FROM expired) AS expired, (SELECT count(*) FROM silent) AS failed;

-- name: grant_consent
INSERT INTO remote_consents (device_id, scope, granted_by, granted_via, expires_at)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: revoke_consent
UPDATE remote_consents SET revoked_at = clock_timestamp(), revoked_by = $2
WHERE device_id = $1 AND revoked_at IS NULL
RETURNING consent_id;

-- name: active_consent
SELECT * FROM remote_consents
WHERE device_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > clock_timestamp())
ORDER BY consent_id DESC LIMIT 1;

-- name: desired_state
-- What agents want (desired, with its version) beside what the boiler last reported (its newest reading).
SELECT d.device_id, coalesce(ds.desired, '{}'::jsonb) AS desired, coalesce(ds.version, 0) AS version,
       ds.updated_at, ds.updated_by, s.last_reading_at,
       r.j->>'room_setpoint_c' AS reported_room_c, r.j->>'ch_setpoint_c' AS reported_flow_c,
       r.j->>'dhw_setpoint_c' AS reported_dhw_c, r.j->>'mode' AS reported_mode
FROM devices AS d
LEFT JOIN device_desired_state AS ds USING (device_id)
LEFT JOIN device_state AS s USING (device_id)
LEFT JOIN LATERAL (SELECT reading_json_by_key(s.device_id, s.last_reading_at, s.last_seq)::jsonb AS j) AS r ON true
WHERE d.device_id = $1;

-- name: resets_to_judge
-- Remote resets of a fault case that ended (or succeeded) and have no outcome yet, with what the
-- boiler has reported of the case's code since.
SELECT c.command_id, c.case_id, coalesce(c.ticket_id, fc.ticket_id) AS ticket_id, fc.code, c.state,
       c.updated_at AS ended_at, c.result->>'ad' AS device_detail, c.result->>'detail' AS platform_detail,
       f.active AS code_active, f.raised_at AS code_raised_at
FROM commands AS c
JOIN fault_cases AS fc ON fc.case_id = c.case_id
LEFT JOIN device_faults AS f ON f.device_id = c.device_id AND f.code = fc.code
WHERE c.kind = 'lockout_reset' AND c.case_id IS NOT NULL
  AND c.state IN ('succeeded', 'failed', 'expired')
  AND c.sent_at IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM remote_reset_outcomes AS o WHERE o.command_id = c.command_id)
ORDER BY c.updated_at
LIMIT $1;

-- name: record_reset_outcome
INSERT INTO remote_reset_outcomes (command_id, case_id, ticket_id, outcome, detail)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (command_id) DO NOTHING
RETURNING command_id;

-- name: ticket_status
SELECT status FROM tickets WHERE ticket_id = $1;
