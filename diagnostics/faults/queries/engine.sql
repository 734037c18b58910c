-- Named queries of the diagnostics engine: inbox lanes, fault cases, tickets, outboxes.

-- name: try_lane
-- A lane is worked by one worker at a time; held until the transaction ends.
SELECT pg_try_advisory_xact_lock(8201, $1::int);

-- name: claim_lane
SELECT inbox_id, device_id, ts, seq, code, state, received_at
FROM event_inbox WHERE lane = $1 ORDER BY inbox_id LIMIT $2;

-- name: delete_inbox
DELETE FROM event_inbox WHERE inbox_id = ANY($1::bigint[]);

-- name: record_failure
INSERT INTO diagnostic_failures (device_id, ts, seq, code, state, error) VALUES ($1, $2, $3, $4, $5, $6);

-- name: lock_open_case
SELECT case_id, status, raises, ticket_id, code FROM fault_cases
WHERE device_id = $1 AND family = $2 AND status IN ('guidance', 'informed', 'ticketed')
FOR UPDATE;

-- name: lock_recent_resolution
-- The newest case the customer resolved whose fault cleared at or after $3.
SELECT case_id, raises FROM fault_cases
WHERE device_id = $1 AND family = $2 AND status = 'resolved_by_customer' AND last_cleared_at >= $3
ORDER BY last_cleared_at DESC LIMIT 1
FOR UPDATE;

-- name: close_case
UPDATE fault_cases SET status = $2, last_cleared_at = $3, closed_at = clock_timestamp(), guidance_deadline = NULL
WHERE case_id = $1;

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

-- name: ticket_service_point
-- The ticket's service point as each language's message names it.
SELECT sp.name, sp.name_en FROM tickets AS t JOIN service_points AS sp ON sp.point_id = t.service_point_id
WHERE t.ticket_id = $1;

-- name: active_codes
SELECT code FROM device_faults WHERE device_id = $1 AND active;

-- name: insert_alert
INSERT INTO customer_alerts (device_id, contact_id, phone, channel, kind, code, case_id, ticket_id, message_ko, message_en)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: overdue_guidance
-- Guided cases past their deadline (first the raise plus the wait; moved on while the guidance has
-- not reached the customer); each is taken by one worker.
SELECT case_id, device_id, family, code, status, raises, ticket_id, guidance_deadline, first_raised_at FROM fault_cases
WHERE status = 'guidance' AND guidance_deadline < clock_timestamp()
ORDER BY guidance_deadline LIMIT $1
FOR UPDATE SKIP LOCKED;

-- name: guidance_delivery
-- How far the case's guidance got: when the first message went out, and until when messages still
-- waiting (quiet hours, provider retries) are due. With the database's clock.
SELECT min(sent_at) FILTER (WHERE status = 'sent') AS first_sent_at,
       max(not_before) FILTER (WHERE status = 'pending') AS pending_until,
       clock_timestamp() AS now
FROM customer_alerts WHERE case_id = $1 AND kind = 'guidance';

-- name: postpone_guidance_deadline
UPDATE fault_cases SET guidance_deadline = $2 WHERE case_id = $1 AND status = 'guidance';

-- name: insert_case
INSERT INTO fault_cases (device_id, family, code, status, raises, first_raised_at, last_raised_at,
                         guidance_deadline, rule)
VALUES ($1, $2, $3, $4, 1, $5, $5, $6, $7)
RETURNING case_id;

-- name: open_ticket
-- Everything a new ticket writes, in one statement: its case (a new one when $1 is NULL, else the
-- device's open case promoted, counting the raise when $17 = 1), the ticket, the first audit entry
-- and the ticket.opened call-center event.
WITH ids AS (
    SELECT nextval(pg_get_serial_sequence('tickets', 'ticket_id')) AS ticket_id
), new_case AS (
    INSERT INTO fault_cases (device_id, family, code, status, raises, first_raised_at, last_raised_at, ticket_id, rule)
    SELECT $2, $3, $4, 'ticketed', 1, $7, $7, ids.ticket_id, $14 FROM ids WHERE $1::bigint IS NULL
    RETURNING case_id, raises, first_raised_at
), promoted AS (
    UPDATE fault_cases SET status = 'ticketed', raises = raises + $17, code = $4,
                           last_raised_at = greatest(last_raised_at, $7), guidance_deadline = NULL,
                           closed_at = NULL, rule = $14, ticket_id = (SELECT ticket_id FROM ids)
    WHERE case_id = $1::bigint
    RETURNING case_id, raises, first_raised_at
), c AS (
    SELECT * FROM new_case UNION ALL SELECT * FROM promoted
), t AS (
    INSERT INTO tickets (ticket_id, case_id, device_id, family, code, codes, kind, status, priority, occurrences,
                         first_raised_at, last_raised_at, contact_due_at, service_point_id,
                         service_point_distance_km, region, in_warranty, warranty_ends_on, rule, evidence)
    OVERRIDING SYSTEM VALUE
    SELECT ids.ticket_id, c.case_id, $2, $3, $4, ARRAY[$4], $5, 'open', $6, c.raises, c.first_raised_at, $7,
           clock_timestamp() + $8::interval, $9, $10, $11, $12, $13, $14,
           $15::jsonb || jsonb_build_object('raises_before_ticket', c.raises - 1)
    FROM ids, c
    RETURNING *
), audit AS (
    INSERT INTO ticket_transitions (ticket_id, from_status, to_status, actor, note, reason, details)
    SELECT ticket_id, NULL, 'open', 'engine', $16, 'opened', jsonb_build_object('rule', $14::text, 'code', $4::text)
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

-- name: unacknowledged_safety_alerts
-- First-wave safety alerts nobody acknowledged within $1, one per case (its first alert, so that
-- two workers never lock different alerts of one case and then wait on each other); each is
-- taken by one worker.
SELECT a.alert_id, a.case_id, a.device_id, a.ticket_id, a.code
FROM customer_alerts AS a
WHERE a.kind IN ('safety', 'emergency') AND a.wave = 0 AND a.acknowledged_at IS NULL AND a.escalated_at IS NULL
  AND a.created_at < clock_timestamp() - $1::interval
  AND NOT EXISTS (SELECT 1 FROM customer_alerts AS b
                  WHERE b.case_id = a.case_id AND b.wave = 0 AND b.alert_id < a.alert_id)
ORDER BY a.created_at LIMIT $2
FOR UPDATE OF a SKIP LOCKED;

-- name: mark_case_escalated
-- Marks every first-wave alert of the case; returns none when another worker got there first.
UPDATE customer_alerts SET escalated_at = clock_timestamp()
WHERE (case_id = $1 OR alert_id = $2) AND wave = 0 AND escalated_at IS NULL AND acknowledged_at IS NULL
RETURNING alert_id;

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

-- name: insert_escalation_alert
INSERT INTO customer_alerts (device_id, contact_id, phone, channel, kind, code, case_id, ticket_id, message_ko,
                             message_en, wave)
VALUES ($1, $2, $3, $4, 'escalation', $5, $6, $7, $8, $9, 1);

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

-- name: notify_offline_devices
-- Devices gone offline since they were last told about: a device.offline event each, once per
-- episode. Devices never heard from have no state row and are not "gone".
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
INSERT INTO outbox_events (event_type, subject, payload)
SELECT 'device.offline', 'device/' || m.device_id,
       jsonb_build_object('device_id', m.device_id, 'model', d.model, 'region', d.region,
                          'last_seen', m.last_seen, 'disconnected', m.connected IS FALSE,
                          'detected_at', m.offline_notified_at)
FROM marked AS m JOIN devices AS d ON d.device_id = m.device_id
RETURNING 1;

-- name: clear_offline_marks
-- Devices online again: their next disappearance is a new episode.
UPDATE device_state AS s SET offline_notified_at = NULL
FROM devices AS d
WHERE d.device_id = s.device_id AND s.offline_notified_at IS NOT NULL
  AND device_online(s.connected, s.last_seen, d.report_interval_s);

-- name: open_case_in_family
SELECT 1 FROM fault_cases WHERE device_id = $1 AND family = $2 AND status IN ('guidance', 'informed', 'ticketed');

-- name: open_prediction_in_family
SELECT 1 FROM predictions WHERE device_id = $1 AND family = $2 AND status = 'open';

-- name: insert_prediction
-- $1 device, $2 code, $3 family, $4 detector, $5 predicted_at, $6 eta, $7 evidence; linked to the
-- case (and ticket) the prediction opened in the same transaction.
INSERT INTO predictions (device_id, code, family, detector, predicted_at, eta, evidence, case_id, ticket_id)
SELECT $1, $2, $3, $4, $5, $6, $7::jsonb, c.case_id, c.ticket_id
FROM (SELECT NULL) AS one
LEFT JOIN fault_cases AS c ON c.device_id = $1 AND c.family = $3 AND c.status IN ('guidance', 'informed', 'ticketed')
RETURNING prediction_id;

-- name: confirm_predictions
-- The hard fault a prediction foresaw arrived: $1 device, $2 family, $3 code, $4 when.
UPDATE predictions SET status = 'confirmed', confirmed_code = $3, confirmed_at = $4
WHERE device_id = $1 AND family = $2 AND status = 'open'
RETURNING prediction_id, code, predicted_at;

-- name: confirm_ticket
-- A predicted ticket becomes the repair ticket of the hard fault it foresaw: same ticket, the hard
-- code added, kind and priority raised to what the hard code needs, the confirmation in its evidence,
-- an audit entry and a ticket.updated event. $1 case, $2 code, $3 when, $4 kind, $5 priority,
-- $6 confirmation (json), $7 note.
WITH c AS (
    UPDATE fault_cases SET raises = raises + 1, code = $2, last_raised_at = greatest(last_raised_at, $3)
    WHERE case_id = $1
    RETURNING ticket_id
), t AS (
    UPDATE tickets SET
        occurrences = occurrences + 1,
        code = $2,
        codes = CASE WHEN $2 = ANY(codes) THEN codes ELSE codes || $2 END,
        kind = CASE WHEN priority <= $5 THEN kind ELSE $4 END,
        priority = least(priority, $5),
        last_raised_at = greatest(last_raised_at, $3),
        fault_cleared_at = NULL,
        evidence = evidence || jsonb_build_object('confirmed', $6::jsonb),
        updated_at = clock_timestamp()
    WHERE ticket_id = (SELECT ticket_id FROM c)
    RETURNING *
), audit AS (
    INSERT INTO ticket_transitions (ticket_id, from_status, to_status, actor, note, reason, details)
    SELECT ticket_id, status, status, 'engine', $7, 'prediction_confirmed', jsonb_build_object('code', $2::text)
    FROM t
)
INSERT INTO outbox_events (event_type, subject, payload)
SELECT 'ticket.updated', 'ticket/' || t.ticket_id, ticket_event_payload(t::tickets) FROM t;

-- name: list_predictions
SELECT prediction_id, device_id, code, family, detector, status, predicted_at, eta, confirmed_code, confirmed_at
FROM predictions ORDER BY predicted_at, prediction_id;

-- name: recent_hard_faults
-- (device, family) pairs where a device-reported code was raised since $1: a repair has probably
-- followed, so a trend spanning it says nothing new.
SELECT DISTINCT device_id, family FROM fault_cases WHERE last_raised_at >= $1 AND code !~ '^A';
