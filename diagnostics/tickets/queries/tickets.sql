-- Named queries of ticket work and ticket reads.

-- name: lock_ticket
SELECT status FROM tickets WHERE ticket_id = $1 FOR UPDATE;

-- name: set_status
-- $3: the new status is terminal (resolved, closed, resolved_remotely, cancelled); $4 the event type.
WITH t AS (
    UPDATE tickets SET
        status = $2,
        contacted_at = CASE WHEN $2 = 'contacted' AND contacted_at IS NULL THEN clock_timestamp() ELSE contacted_at END,
        closed_at = CASE WHEN $3 THEN coalesce(closed_at, clock_timestamp()) ELSE closed_at END,
        updated_at = clock_timestamp()
    WHERE ticket_id = $1
    RETURNING *
)
INSERT INTO outbox_events (event_type, subject, payload)
SELECT $4, 'ticket/' || t.ticket_id, ticket_event_payload(t::tickets) FROM t;

-- name: insert_transition
-- $6 reason code and $7 details (json) when the move needed one (safety_override), else NULL.
INSERT INTO ticket_transitions (ticket_id, from_status, to_status, actor, note, reason, details)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb);

-- name: ticket_fault_codes
-- The ticket's fault (family and codes) beside the codes still active on its device.
SELECT t.family, t.codes,
       coalesce(array_agg(f.code ORDER BY f.code) FILTER (WHERE f.code IS NOT NULL), '{}') AS active_codes
FROM tickets AS t
LEFT JOIN device_faults AS f ON f.device_id = t.device_id AND f.active
WHERE t.ticket_id = $1
GROUP BY t.ticket_id;

-- name: list_tickets
-- Newest first (keyset on ticket_id); every filter optional. SLA breached: not contacted within the
-- contact window (still open past it, or contacted late).
SELECT t.*, coalesce((t.contacted_at IS NULL AND t.status = 'open' AND t.contact_due_at < clock_timestamp())
                     OR t.contacted_at > t.contact_due_at, false) AS sla_breached
FROM tickets AS t
WHERE ($1::text IS NULL OR t.status = $1)
  AND ($2::smallint IS NULL OR t.priority = $2)
  AND ($3::text IS NULL OR t.service_point_id = $3)
  AND ($4::text IS NULL OR t.region = $4)
  AND ($5::text IS NULL OR $5 = ANY(t.codes))
  AND ($6::bool IS NULL OR ((t.contacted_at IS NULL AND t.status = 'open' AND t.contact_due_at < clock_timestamp())
                            OR coalesce(t.contacted_at > t.contact_due_at, false)) = $6)
  AND ($7::text IS NULL OR t.device_id = $7)
  AND ($8::bigint IS NULL OR t.ticket_id < $8)
  AND ($10::text IS NULL OR t.device_id IN (SELECT device_id FROM device_contacts WHERE phone_national = $10))
ORDER BY t.ticket_id DESC
LIMIT $9;

-- name: get_ticket
-- $2: the catalog's safety-critical codes (for the ticket's queue class, as in ticket_queue).
SELECT t.*, coalesce((t.contacted_at IS NULL AND t.status = 'open' AND t.contact_due_at < clock_timestamp())
                     OR t.contacted_at > t.contact_due_at, false) AS sla_breached,
       ticket_queue_class(t.kind, t.codes, t.priority, $2::text[]) AS queue_class,
       sp.name AS service_point_name, sp.name_en AS service_point_name_en
FROM tickets AS t LEFT JOIN service_points AS sp ON sp.point_id = t.service_point_id
WHERE t.ticket_id = $1;

-- name: ticket_transitions
SELECT from_status, to_status, at, actor, note, reason, details::text AS details
FROM ticket_transitions WHERE ticket_id = $1 ORDER BY transition_id;

-- name: ticket_events
-- The device's events for the ticket's codes since its episode began (evidence, read from the source).
SELECT e.ts, e.seq, e.code, e.state, e.received_at
FROM events AS e
JOIN fault_cases AS c ON c.device_id = e.device_id
WHERE c.ticket_id = $1 AND e.code = ANY($2::text[]) AND e.ts >= c.first_raised_at
ORDER BY e.ts DESC, e.seq DESC
LIMIT 200;

-- name: ticket_alerts
SELECT alert_id, phone, channel, kind, code, message_ko, message_en, status, created_at
FROM customer_alerts WHERE ticket_id = $1 OR case_id = (SELECT case_id FROM tickets WHERE ticket_id = $1)
ORDER BY alert_id;

-- name: open_tickets_of_device
SELECT t.*, coalesce((t.contacted_at IS NULL AND t.status = 'open' AND t.contact_due_at < clock_timestamp())
                     OR t.contacted_at > t.contact_due_at, false) AS sla_breached
FROM tickets AS t
WHERE t.device_id = $1 AND t.status NOT IN ('resolved', 'closed', 'resolved_remotely', 'cancelled')
ORDER BY t.priority, t.ticket_id;

-- name: insert_note
INSERT INTO ticket_notes (ticket_id, author, kind, body) VALUES ($1, $2, $3, $4)
RETURNING note_id, at, author, kind, body;

-- name: ticket_notes
SELECT note_id, at, author, kind, body FROM ticket_notes WHERE ticket_id = $1 ORDER BY note_id;

-- name: service_point_exists
SELECT EXISTS (SELECT 1 FROM service_points WHERE point_id = $1);

-- name: assign
-- $2 service point (NULL keeps the current one), $3 technician (NULL clears it), $4 who assigned.
-- The call center hears of it as ticket.updated.
WITH t AS (
    UPDATE tickets SET
        service_point_id = coalesce($2, service_point_id),
        technician = $3,
        assigned_at = clock_timestamp(),
        assigned_by = $4,
        updated_at = clock_timestamp()
    WHERE ticket_id = $1
    RETURNING *
)
INSERT INTO outbox_events (event_type, subject, payload)
SELECT 'ticket.updated', 'ticket/' || t.ticket_id, ticket_event_payload(t::tickets) FROM t;

-- name: ticket_queue
-- Unfinished tickets in the order they must be worked, with whom to call. First by class
-- (ticket_queue_class, migration 0018: an emergency, then other safety-critical faults ($6: the
-- catalog's safety-critical codes), then the rest by priority); within a class the tickets whose
-- contact clock ran out, the longest ago first, then those still waiting for a call by the nearest
-- contact deadline, then the ones already contacted. Filters optional: $1 service point, $2 region,
-- $3 status, $4 only SLA breaches.
SELECT q.* FROM (
    SELECT t.*, coalesce((t.contacted_at IS NULL AND t.status = 'open' AND t.contact_due_at < clock_timestamp())
                         OR t.contacted_at > t.contact_due_at, false) AS sla_breached,
           ticket_queue_class(t.kind, t.codes, t.priority, $6::text[]) AS queue_class,
           d.customer_name, d.address, sp.name AS service_point_name, sp.name_en AS service_point_name_en
    FROM tickets AS t
    JOIN devices AS d ON d.device_id = t.device_id
    LEFT JOIN service_points AS sp ON sp.point_id = t.service_point_id
    WHERE t.status NOT IN ('resolved', 'closed', 'resolved_remotely', 'cancelled')
      AND ($1::text IS NULL OR t.service_point_id = $1)
      AND ($2::text IS NULL OR t.region = $2)
      AND ($3::text IS NULL OR t.status = $3)
) AS q
WHERE $4::bool IS NULL OR q.sla_breached = $4
ORDER BY q.queue_class, q.sla_breached DESC, (q.status = 'open' AND q.contacted_at IS NULL) DESC, q.contact_due_at,
         q.ticket_id
LIMIT $5;

-- name: queue_counts
-- How many unfinished tickets the same filters hold, and how many of them broke the contact SLA.
SELECT count(*) AS open,
       count(*) FILTER (WHERE (t.contacted_at IS NULL AND t.status = 'open' AND t.contact_due_at < clock_timestamp())
                              OR coalesce(t.contacted_at > t.contact_due_at, false)) AS breached
FROM tickets AS t
WHERE t.status NOT IN ('resolved', 'closed', 'resolved_remotely', 'cancelled')
  AND ($1::text IS NULL OR t.service_point_id = $1)
  AND ($2::text IS NULL OR t.region = $2);

-- name: ticket_subject
-- What the repair's result message names: the device, the case, the code.
SELECT device_id, case_id, code FROM tickets WHERE ticket_id = $1;
