-- Named queries of the fault engine: fault cases, predictions, failures, and the ticket side of its
-- decisions (opened, repeated, cleared, confirmed, escalated) with their call-center events.

-- name: record_failure
INSERT INTO diagnostic_failures (device_id, ts, seq, code, state, error) VALUES ($1, $2, $3, $4, $5, $6);

-- name: lock_open_case
SELECT case_id, status, raises, ticket_id, code FROM fault_cases
WHERE device_id = $1 AND family = $2 AND status IN ('guidance', 'informed', 'ticketed', 'incident')
FOR UPDATE;

-- name: lock_recent_resolution
-- The newest case the customer resolved whose fault cleared at or after $3.
SELECT case_id, customer_said_fixed_at IS NOT NULL AS customer_said_fixed FROM fault_cases
WHERE device_id = $1 AND family = $2 AND status = 'resolved_by_customer' AND last_cleared_at >= $3
ORDER BY last_cleared_at DESC LIMIT 1
FOR UPDATE;

-- name: close_case
UPDATE fault_cases SET status = $2, last_cleared_at = $3, closed_at = clock_timestamp(), guidance_deadline = NULL
WHERE case_id = $1;

-- name: close_case_of_ticket
UPDATE fault_cases SET status = 'closed', closed_at = clock_timestamp(), guidance_deadline = NULL
WHERE ticket_id = $1 AND status = 'ticketed';

-- name: case_cleared
UPDATE fault_cases SET last_cleared_at = $2 WHERE case_id = $1;

-- name: device_facts
-- What routing, warranty and the evidence need to know about the device.
SELECT d.model, d.installed_on, d.latitude, d.longitude, d.region, reading_json_by_key(s.device_id, s.last_reading_at, s.last_seq)::text AS latest,
       coalesce(w.years, $2) AS warranty_years
FROM devices AS d
LEFT JOIN device_state AS s USING (device_id)
LEFT JOIN model_warranty AS w ON w.model = d.model
WHERE d.device_id = $1;

-- name: contacts
-- The contacts alerted at once: those of the lowest escalation rank the device has (normally 0);
-- the others wait for an unacknowledged safety alert.
SELECT contact_id, name, phone, role, preferred_channel FROM device_contacts
WHERE device_id = $1
  AND escalation_rank = (SELECT min(escalation_rank) FROM device_contacts WHERE device_id = $1)
ORDER BY contact_id;

-- name: every_contact
-- Every contact of the device, whatever their rank: the repair's result goes to all of them (the
-- child who registered the parent's boiler is told too).
SELECT contact_id, name, phone, role, preferred_channel FROM device_contacts
WHERE device_id = $1 ORDER BY escalation_rank, contact_id;

-- name: ticket_service_point
-- The ticket's service point as each language's message names it.
SELECT sp.name, sp.name_en FROM tickets AS t JOIN service_points AS sp ON sp.point_id = t.service_point_id
WHERE t.ticket_id = $1;

-- name: active_codes
SELECT code FROM device_faults WHERE device_id = $1 AND active;

-- name: overdue_guidance
-- Guided cases past their deadline (first the raise plus the wait; moved on while the guidance has
-- not reached the customer); each is taken by one worker.
SELECT case_id, device_id, family, code, status, raises, ticket_id, guidance_deadline, first_raised_at FROM fault_cases
WHERE status = 'guidance' AND guidance_deadline < clock_timestamp()
ORDER BY guidance_deadline LIMIT $1
FOR UPDATE SKIP LOCKED;

-- name: postpone_guidance_deadline
UPDATE fault_cases SET guidance_deadline = $2 WHERE case_id = $1 AND status = 'guidance';

-- name: insert_case
INSERT INTO fault_cases (device_id, family, code, status, raises, first_raised_at, last_raised_at,
                         guidance_deadline, rule)
VALUES (:device_id, :family, :code, :status, 1, :raised_at, :raised_at, :guidance_deadline, :rule)
RETURNING case_id;

-- name: open_ticket
-- Everything a new ticket writes, in one statement: its case (a new one when :case_id is NULL, else
-- the device's open case promoted, counting the raise when :counts_raise = 1), the ticket, the
-- first audit entry and the ticket.opened call-center event.
WITH ids AS (
    SELECT nextval(pg_get_serial_sequence('tickets', 'ticket_id')) AS ticket_id
), new_case AS (
    INSERT INTO fault_cases (device_id, family, code, status, raises, first_raised_at, last_raised_at, ticket_id, rule)
    SELECT :device_id, :family, :code, 'ticketed', 1, :raised_at, :raised_at, ids.ticket_id, :rule
    FROM ids WHERE :case_id::bigint IS NULL
    RETURNING case_id, raises, first_raised_at
), promoted AS (
    UPDATE fault_cases SET status = 'ticketed', raises = raises + :counts_raise, code = :code,
                           last_raised_at = greatest(last_raised_at, :raised_at), guidance_deadline = NULL,
                           closed_at = NULL, rule = :rule, ticket_id = (SELECT ticket_id FROM ids)
    WHERE case_id = :case_id::bigint
    RETURNING case_id, raises, first_raised_at
), c AS (
    SELECT * FROM new_case UNION ALL SELECT * FROM promoted
), t AS (
    INSERT INTO tickets (ticket_id, case_id, device_id, family, code, codes, kind, status, priority, occurrences,
                         first_raised_at, last_raised_at, contact_due_at, service_point_id,
                         service_point_distance_km, region, in_warranty, warranty_ends_on, rule, evidence)
    OVERRIDING SYSTEM VALUE
    SELECT ids.ticket_id, c.case_id, :device_id, :family, :code, ARRAY[:code], :kind, 'open', :priority, c.raises,
           c.first_raised_at, :raised_at, clock_timestamp() + :contact_within::interval, :service_point_id,
           :service_point_distance_km, :region, :in_warranty, :warranty_ends_on, :rule,
           :evidence::jsonb || jsonb_build_object('raises_before_ticket', c.raises - 1)
    FROM ids, c
    RETURNING *
), audit AS (
    INSERT INTO ticket_transitions (ticket_id, from_status, to_status, actor, note, reason, details)
    SELECT ticket_id, NULL, 'open', 'engine', :why, 'opened', jsonb_build_object('rule', :rule::text, 'code', :code::text)
    FROM t
), announced AS (
    INSERT INTO outbox_events (event_type, subject, payload)
    SELECT 'ticket.opened', 'ticket/' || t.ticket_id, ticket_event_payload(t::tickets) FROM t
)
SELECT t.ticket_id, t.case_id FROM t;

-- name: repeat
-- The fault came back while its case is open: count it on the case, and on its ticket if it has one
-- (the fault is active again: no longer cleared, no remote resolution), with a ticket.updated event.
WITH c AS (
    UPDATE fault_cases SET raises = raises + 1, code = $2, last_raised_at = greatest(last_raised_at, $3)
    WHERE case_id = $1
    RETURNING ticket_id, status
), t AS (
    UPDATE tickets SET
        occurrences = occurrences + 1,
        code = $2,
        codes = CASE WHEN $2 = ANY(codes) THEN codes ELSE codes || $2 END,
        last_raised_at = greatest(last_raised_at, $3),
        fault_cleared_at = NULL,
        remote_resolution_proposed_at = NULL,
        updated_at = clock_timestamp()
    WHERE ticket_id = (SELECT ticket_id FROM c WHERE status = 'ticketed')
    RETURNING *
)
INSERT INTO outbox_events (event_type, subject, payload)
SELECT 'ticket.updated', 'ticket/' || t.ticket_id, ticket_event_payload(t::tickets) FROM t;

-- name: ticket_fault_cleared
WITH t AS (
    UPDATE tickets SET fault_cleared_at = $2, updated_at = clock_timestamp()
    WHERE ticket_id = $1 AND status NOT IN ('resolved', 'closed', 'resolved_remotely', 'cancelled')
    RETURNING *
)
INSERT INTO outbox_events (event_type, subject, payload)
SELECT 'ticket.updated', 'ticket/' || t.ticket_id, ticket_event_payload(t::tickets) FROM t;

-- name: escalate_overdue_contacts
-- Tickets nobody contacted the customer about in time: one priority step up, once per ticket for this
-- reason (whatever else escalated the ticket before), with an audit entry and a ticket.escalated
-- event carrying the reason.
WITH due AS (
    SELECT t.ticket_id FROM tickets AS t
    WHERE t.status = 'open' AND t.contact_due_at < clock_timestamp()
      AND NOT EXISTS (SELECT 1 FROM ticket_escalations AS e
                      WHERE e.ticket_id = t.ticket_id AND e.reason = 'contact_overdue')
    ORDER BY t.contact_due_at LIMIT $1
    FOR UPDATE OF t SKIP LOCKED
), marked AS (
    INSERT INTO ticket_escalations (ticket_id, reason, details)
    SELECT ticket_id, 'contact_overdue', '{}' FROM due
    ON CONFLICT DO NOTHING
    RETURNING ticket_id
), t AS (
    UPDATE tickets SET priority = greatest(1, priority - 1), escalated_at = clock_timestamp(),
                       escalations = escalations + 1, updated_at = clock_timestamp()
    WHERE ticket_id IN (SELECT ticket_id FROM marked)
    RETURNING *
), audit AS (
    INSERT INTO ticket_transitions (ticket_id, from_status, to_status, actor, note, reason, details)
    SELECT ticket_id, status, status, 'engine',
           'customer not contacted by ' || contact_due_at || ': priority raised to ' || priority,
           'contact_overdue', jsonb_build_object('contact_due_at', contact_due_at, 'priority', priority)
    FROM t
)
INSERT INTO outbox_events (event_type, subject, payload)
SELECT 'ticket.escalated', 'ticket/' || t.ticket_id,
       ticket_event_payload(t::tickets) || jsonb_build_object('reason', 'contact_overdue')
FROM t
RETURNING 1;

-- name: propose_remote_resolution
-- Tickets whose fault cleared and stayed clear for $1: an agent can close them without a visit.
WITH t AS (
    UPDATE tickets SET remote_resolution_proposed_at = clock_timestamp(), updated_at = clock_timestamp()
    WHERE ticket_id IN (
        SELECT ticket_id FROM tickets
        WHERE status IN ('open', 'contacted', 'scheduled') AND fault_cleared_at < clock_timestamp() - $1::interval
          AND remote_resolution_proposed_at IS NULL
        ORDER BY fault_cleared_at LIMIT $2
        FOR UPDATE SKIP LOCKED
    )
    RETURNING *
), audit AS (
    INSERT INTO ticket_transitions (ticket_id, from_status, to_status, actor, note, reason, details)
    SELECT ticket_id, status, status, 'engine', 'fault clear for ' || $1::interval || ': proposed for remote resolution',
           'remote_resolution_proposed', jsonb_build_object('clear_for_s', extract(epoch FROM $1::interval))
    FROM t
)
INSERT INTO outbox_events (event_type, subject, payload)
SELECT 'ticket.updated', 'ticket/' || t.ticket_id, ticket_event_payload(t::tickets) FROM t
RETURNING 1;

-- name: next_contacts
-- The contacts of the next escalation rank above the first wave's, and the owner's name for the
-- message. One step: beyond it the call center (the escalated ticket) takes over.
SELECT contact_id, phone, preferred_channel,
       (SELECT coalesce(min(name), '') FROM device_contacts WHERE device_id = $1 AND role = 'owner') AS owner_name
FROM device_contacts
WHERE device_id = $1 AND escalation_rank = (
    SELECT min(escalation_rank) FROM device_contacts
    WHERE device_id = $1
      AND escalation_rank > (SELECT min(escalation_rank) FROM device_contacts WHERE device_id = $1))
ORDER BY contact_id;

-- name: escalate_ticket_unacknowledged
-- The call center hears of it: priority one step up, an audit entry and a ticket.escalated event,
-- once per ticket for this reason. $1 ticket, $2 note, $3 details (json: who was alerted next).
WITH marked AS (
    INSERT INTO ticket_escalations (ticket_id, reason, details)
    SELECT ticket_id, 'safety_alert_unacknowledged', $3::jsonb FROM tickets
    WHERE ticket_id = $1 AND status NOT IN ('resolved', 'closed', 'resolved_remotely', 'cancelled')
    ON CONFLICT DO NOTHING
    RETURNING ticket_id
), t AS (
    UPDATE tickets SET priority = greatest(1, priority - 1), escalated_at = clock_timestamp(),
                       escalations = escalations + 1, updated_at = clock_timestamp()
    WHERE ticket_id IN (SELECT ticket_id FROM marked)
    RETURNING *
), audit AS (
    INSERT INTO ticket_transitions (ticket_id, from_status, to_status, actor, note, reason, details)
    SELECT ticket_id, status, status, 'engine', $2, 'safety_alert_unacknowledged', $3::jsonb FROM t
)
INSERT INTO outbox_events (event_type, subject, payload)
SELECT 'ticket.escalated', 'ticket/' || t.ticket_id,
       ticket_event_payload(t::tickets) || jsonb_build_object('reason', 'safety_alert_unacknowledged')
           || $3::jsonb
FROM t;

-- name: open_case_in_family
SELECT 1 FROM fault_cases WHERE device_id = $1 AND family = $2 AND status IN ('guidance', 'informed', 'ticketed', 'incident');

-- name: open_prediction_in_family
SELECT 1 FROM predictions WHERE device_id = $1 AND family = $2 AND status = 'open';

-- name: insert_prediction
-- Linked to the case (and ticket) the prediction opened in the same transaction.
INSERT INTO predictions (device_id, code, family, detector, predicted_at, eta, evidence, case_id, ticket_id)
SELECT :device_id, :code, :family, :detector, :predicted_at, :eta, :evidence::jsonb, c.case_id, c.ticket_id
FROM (SELECT NULL) AS one
LEFT JOIN fault_cases AS c
       ON c.device_id = :device_id AND c.family = :family AND c.status IN ('guidance', 'informed', 'ticketed', 'incident')
RETURNING prediction_id;

-- name: confirm_predictions
-- The hard fault a prediction foresaw arrived.
UPDATE predictions SET status = 'confirmed', confirmed_code = :code, confirmed_at = :at
WHERE device_id = :device_id AND family = :family AND status = 'open'
RETURNING prediction_id, code, predicted_at;

-- name: confirm_ticket
-- A predicted ticket becomes the repair ticket of the hard fault it foresaw: same ticket, the hard
-- code added, kind and priority raised to what the hard code needs, the confirmation in its evidence,
-- an audit entry and a ticket.updated event.
WITH c AS (
    UPDATE fault_cases SET raises = raises + 1, code = :code, last_raised_at = greatest(last_raised_at, :at)
    WHERE case_id = :case_id
    RETURNING ticket_id
), t AS (
    UPDATE tickets SET
        occurrences = occurrences + 1,
        code = :code,
        codes = CASE WHEN :code = ANY(codes) THEN codes ELSE codes || :code END,
        kind = CASE WHEN priority <= :priority THEN kind ELSE :kind END,
        priority = least(priority, :priority),
        last_raised_at = greatest(last_raised_at, :at),
        fault_cleared_at = NULL,
        evidence = evidence || jsonb_build_object('confirmed', :confirmation::jsonb),
        updated_at = clock_timestamp()
    WHERE ticket_id = (SELECT ticket_id FROM c)
    RETURNING *
), audit AS (
    INSERT INTO ticket_transitions (ticket_id, from_status, to_status, actor, note, reason, details)
    SELECT ticket_id, status, status, 'engine', :note, 'prediction_confirmed', jsonb_build_object('code', :code::text)
    FROM t
)
INSERT INTO outbox_events (event_type, subject, payload)
SELECT 'ticket.updated', 'ticket/' || t.ticket_id, ticket_event_payload(t::tickets) FROM t;

-- name: customer_said_fixed
-- The customer said, through the case's link, that the boiler works again (a recurrence within the
-- window then says so in its ticket's rule).
UPDATE fault_cases SET customer_said_fixed_at = $2 WHERE case_id = $1;

-- name: first_contacts_of
-- The contacts alerted at once (the lowest escalation rank) of several devices, for broadcasts.
SELECT device_id, contact_id, name, phone, role, preferred_channel FROM device_contacts AS dc
WHERE device_id = ANY ($1::text[])
  AND escalation_rank = (SELECT min(escalation_rank) FROM device_contacts WHERE device_id = dc.device_id)
ORDER BY device_id, contact_id;

-- name: hold_case
-- An area incident holds the case: no guidance deadline, no alert or ticket of its own (diagnostics/cold_wave).
UPDATE fault_cases SET status = 'incident', guidance_deadline = NULL, closed_at = NULL WHERE case_id = $1;

-- name: close_held_case
-- The incident ended and the case's fault had cleared.
UPDATE fault_cases SET status = 'closed', closed_at = clock_timestamp() WHERE case_id = $1 AND status = 'incident';
