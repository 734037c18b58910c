-- Named queries of the diagnostics engine: inbox lanes, fault cases, tickets, outboxes.

-- name: try_lane
-- A lane is worked by one worker at a time; held until the transaction ends.
SELECT pg_try_advisory_xact_lock(8201, $1::int);

-- name: claim_lane
SELECT inbox_id, device_id, ts, seq, code, state, received_at
FROM event_inbox WHERE lane = $1 ORDER BY inbox_id LIMIT $2;

-- name: busy_lanes
SELECT DISTINCT lane FROM event_inbox;

-- name: delete_inbox
DELETE FROM event_inbox WHERE inbox_id = ANY($1::bigint[]);

-- name: record_failure
INSERT INTO diagnostic_failures (device_id, ts, seq, code, state, error) VALUES ($1, $2, $3, $4, $5, $6);

-- name: lock_open_case
SELECT case_id, status, raises, ticket_id FROM fault_cases
WHERE device_id = $1 AND family = $2 AND status IN ('guidance', 'informed', 'ticketed')
FOR UPDATE;

-- name: lock_recent_resolution
-- The newest case the customer resolved whose fault cleared at or after $3.
SELECT case_id, raises FROM fault_cases
WHERE device_id = $1 AND family = $2 AND status = 'resolved_by_customer' AND last_cleared_at >= $3
ORDER BY last_cleared_at DESC LIMIT 1
FOR UPDATE;

-- name: insert_case
INSERT INTO fault_cases (device_id, family, code, status, raises, first_raised_at, last_raised_at,
                         guidance_deadline, rule)
VALUES ($1, $2, $3, $4, 1, $5, $5, $6, $7)
RETURNING case_id;

-- name: case_to_ticket
-- An open (or recently resolved) case gets its ticket; $5 is 1 when a new raise triggered it
-- (counted), 0 when the guidance wait ran out.
UPDATE fault_cases SET status = 'ticketed', raises = raises + $5, code = $2, last_raised_at = greatest(last_raised_at, $3),
                       guidance_deadline = NULL, closed_at = NULL, rule = $4
WHERE case_id = $1
RETURNING raises, first_raised_at;

-- name: attach_ticket
UPDATE fault_cases SET ticket_id = $2 WHERE case_id = $1;

-- name: repeat_case
UPDATE fault_cases SET raises = raises + 1, code = $2, last_raised_at = greatest(last_raised_at, $3)
WHERE case_id = $1;

-- name: close_case
UPDATE fault_cases SET status = $2, last_cleared_at = $3, closed_at = clock_timestamp(), guidance_deadline = NULL
WHERE case_id = $1;

-- name: case_cleared
UPDATE fault_cases SET last_cleared_at = $2 WHERE case_id = $1;

-- name: device_facts
-- What routing, warranty and the evidence need to know about the device.
SELECT d.model, d.installed_on, d.latitude, d.longitude, d.region, s.latest::text AS latest,
       coalesce(w.years, $2) AS warranty_years
FROM devices AS d
LEFT JOIN device_state AS s USING (device_id)
LEFT JOIN model_warranty AS w ON w.model = d.model
WHERE d.device_id = $1;

-- name: contacts
SELECT contact_id, name, phone, role, preferred_channel FROM device_contacts
WHERE device_id = $1 ORDER BY contact_id;

-- name: active_codes
SELECT code FROM device_faults WHERE device_id = $1 AND active;

-- name: insert_ticket
INSERT INTO tickets (case_id, device_id, family, code, codes, kind, status, priority, occurrences,
                     first_raised_at, last_raised_at, contact_due_at, service_point_id, service_point_distance_km,
                     region, in_warranty, warranty_ends_on, rule, evidence)
VALUES ($1, $2, $3, $4, ARRAY[$4], $5, 'open', $6, $7, $8, $9, clock_timestamp() + $10::interval, $11, $12,
        $13, $14, $15, $16, $17::jsonb)
RETURNING ticket_id, opened_at, contact_due_at;

-- name: repeat_ticket
UPDATE tickets SET
    occurrences = occurrences + 1,
    code = $2,
    codes = CASE WHEN $2 = ANY(codes) THEN codes ELSE codes || $2 END,
    last_raised_at = greatest(last_raised_at, $3),
    fault_cleared_at = NULL,
    remote_resolution_proposed_at = NULL,
    updated_at = clock_timestamp()
WHERE ticket_id = $1
RETURNING ticket_id, device_id, code, family, kind, status, priority, occurrences, opened_at, contact_due_at,
          service_point_id, in_warranty, rule;

-- name: ticket_fault_cleared
UPDATE tickets SET fault_cleared_at = $2, updated_at = clock_timestamp()
WHERE ticket_id = $1 AND status NOT IN ('resolved', 'closed', 'resolved_remotely', 'cancelled')
RETURNING ticket_id, device_id, code, family, kind, status, priority, occurrences, opened_at, contact_due_at,
          service_point_id, in_warranty, rule;

-- name: insert_transition
INSERT INTO ticket_transitions (ticket_id, from_status, to_status, actor, note) VALUES ($1, $2, $3, $4, $5);

-- name: insert_outbox
INSERT INTO outbox_events (event_type, subject, payload) VALUES ($1, $2, $3::jsonb);

-- name: insert_alert
INSERT INTO customer_alerts (device_id, contact_id, phone, channel, kind, code, case_id, ticket_id, message_ko, message_en)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: overdue_guidance
-- Guided cases whose fault has not cleared in time; each is taken by one worker.
SELECT case_id, device_id, family, code, status, raises, ticket_id, guidance_deadline FROM fault_cases
WHERE status = 'guidance' AND guidance_deadline < clock_timestamp()
ORDER BY guidance_deadline LIMIT $1
FOR UPDATE SKIP LOCKED;

-- name: escalate_overdue_contacts
-- Tickets nobody contacted the customer about in time: one priority step up, once.
UPDATE tickets SET priority = greatest(1, priority - 1), escalated_at = clock_timestamp(),
                   escalations = escalations + 1, updated_at = clock_timestamp()
WHERE ticket_id IN (
    SELECT ticket_id FROM tickets
    WHERE status = 'open' AND contact_due_at < clock_timestamp() AND escalated_at IS NULL
    ORDER BY contact_due_at LIMIT $1
    FOR UPDATE SKIP LOCKED
)
RETURNING ticket_id, device_id, code, family, kind, status, priority, occurrences, opened_at, contact_due_at,
          service_point_id, in_warranty, rule;

-- name: propose_remote_resolution
-- Tickets whose fault cleared and stayed clear for $1: an agent can close them without a visit.
UPDATE tickets SET remote_resolution_proposed_at = clock_timestamp(), updated_at = clock_timestamp()
WHERE ticket_id IN (
    SELECT ticket_id FROM tickets
    WHERE status IN ('open', 'contacted', 'scheduled') AND fault_cleared_at < clock_timestamp() - $1::interval
      AND remote_resolution_proposed_at IS NULL
    ORDER BY fault_cleared_at LIMIT $2
    FOR UPDATE SKIP LOCKED
)
RETURNING ticket_id, device_id, code, family, kind, status, priority, occurrences, opened_at, contact_due_at,
          service_point_id, in_warranty, rule;
