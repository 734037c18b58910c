-- Named queries of the customer's side of a case (migration 0024).

-- name: issue_link
-- The case's link for this number: created on the first message, its expiry pushed out by every
-- later one. `fresh`: the token hash is still to be written (a new link).
INSERT INTO customer_links (case_id, device_id, phone, language, salt, expires_at)
VALUES (:case_id, :device_id, :phone, :language, :salt, :expires_at)
ON CONFLICT (case_id, phone) DO UPDATE
    SET expires_at = greatest(customer_links.expires_at, EXCLUDED.expires_at),
        language = EXCLUDED.language
RETURNING link_id, salt, token_hash IS NULL AS fresh, revoked_at IS NOT NULL AS revoked;

-- name: set_token_hash
UPDATE customer_links SET token_hash = $2 WHERE link_id = $1;

-- name: link_by_hash
SELECT link_id, case_id, device_id, phone, language, expires_at, revoked_at
FROM customer_links WHERE token_hash = $1;

-- name: mark_opened
UPDATE customer_links SET opened_at = coalesce(opened_at, clock_timestamp()), opens = opens + 1
WHERE link_id = $1;

-- name: revoke_links
-- Revoke every link of a case, or of a device (:case_id NULL), or only those sent to :phone.
UPDATE customer_links SET revoked_at = clock_timestamp(), revoked_by = :by
WHERE (case_id = :case_id::bigint OR (:case_id::bigint IS NULL AND device_id = :device_id))
  AND revoked_at IS NULL AND (:phone::text IS NULL OR phone = :phone)
RETURNING link_id;

-- name: case_view
-- What every contact's page shows of a case: the case, its device's model, the ticket and its
-- service point, and whether the case's code is active on the device now.
SELECT fc.case_id, fc.device_id, fc.family, fc.code, fc.status AS case_status, fc.first_raised_at,
       fc.last_cleared_at, fc.customer_said_fixed_at, fc.closed_at AS case_closed_at,
       d.model, d.customer_name,
       t.ticket_id, t.status AS ticket_status, t.kind AS ticket_kind, t.opened_at AS ticket_opened_at,
       t.closed_at AS ticket_closed_at, t.service_point_id, sp.name AS point_name, sp.name_en AS point_name_en,
       EXISTS (SELECT 1 FROM device_faults df WHERE df.device_id = fc.device_id AND df.code = fc.code AND df.active) AS code_active,
       (SELECT array_agg(df.code ORDER BY df.code) FROM device_faults df WHERE df.device_id = fc.device_id AND df.active) AS active_codes
FROM fault_cases AS fc
JOIN devices AS d USING (device_id)
LEFT JOIN LATERAL (
    SELECT * FROM tickets WHERE case_id = fc.case_id ORDER BY ticket_id DESC LIMIT 1
) AS t ON true
LEFT JOIN service_points AS sp ON sp.point_id = t.service_point_id
WHERE fc.case_id = $1;

-- name: case_answers
SELECT answer_id, kind, details::text AS details, at, link_id FROM customer_answers
WHERE case_id = $1 ORDER BY answer_id;

-- name: insert_answer
INSERT INTO customer_answers (link_id, case_id, ticket_id, kind, details)
VALUES ($1, $2, $3, $4, $5::jsonb)
RETURNING answer_id, at;

-- name: lock_case
SELECT status, code, ticket_id FROM fault_cases WHERE case_id = $1 FOR UPDATE;

-- name: lock_point
SELECT point_id FROM service_points WHERE point_id = $1 FOR UPDATE;

-- name: free_slots
-- A point's half-day windows from :first_day for :days days (Sundays off): the day's capacity less
-- the inspections booked that day, split morning (the odd one) and afternoon, less repair visits
-- already booked in the window.
WITH days AS (
    SELECT d::date AS day FROM generate_series(:first_day::date, :first_day::date + (:days::int - 1), interval '1 day') AS d
    WHERE extract(isodow FROM d) < 7
), cap AS (
    SELECT days.day, greatest(sp.daily_capacity - (
        SELECT count(*) FROM inspections AS i
        WHERE i.point_id = sp.point_id AND i.day = days.day AND i.status IN ('proposed', 'accepted', 'rescheduled')
    ), 0)::int AS repairs
    FROM days CROSS JOIN service_points AS sp WHERE sp.point_id = :point_id
), windows AS (
    SELECT cap.day, s.slot, CASE s.slot WHEN 'am' THEN (cap.repairs + 1) / 2 ELSE cap.repairs / 2 END AS capacity
    FROM cap CROSS JOIN (VALUES ('am'), ('pm')) AS s(slot)
)
SELECT w.day, w.slot, w.capacity, (w.capacity - count(b.booking_id))::int AS free
FROM windows AS w
LEFT JOIN visit_bookings AS b ON b.point_id = :point_id AND b.day = w.day AND b.slot = w.slot AND b.status = 'booked'
GROUP BY w.day, w.slot, w.capacity
ORDER BY w.day, w.slot;

-- name: pick_technician
-- The point's technician with the fewest visits booked that day (a point without technicians: none).
SELECT tc.technician_id FROM technicians AS tc
LEFT JOIN visit_bookings AS b ON b.technician_id = tc.technician_id AND b.day = $2 AND b.status = 'booked'
WHERE tc.point_id = $1
GROUP BY tc.technician_id ORDER BY count(b.booking_id), tc.technician_id LIMIT 1;

-- name: end_booking
UPDATE visit_bookings SET status = $2, ended_at = clock_timestamp()
WHERE ticket_id = $1 AND status = 'booked'
RETURNING booking_id, day, slot;

-- name: insert_booking
INSERT INTO visit_bookings (ticket_id, point_id, day, slot, technician_id, booked_by)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING booking_id;

-- name: booking_of_ticket
SELECT b.booking_id, b.ticket_id, b.point_id, b.day, b.slot, b.status, b.booked_at,
       sp.name AS point_name, sp.name_en AS point_name_en,
       tc.technician_id, tc.name AS technician_name, tc.name_en AS technician_name_en, tc.photo_url
FROM visit_bookings AS b
JOIN service_points AS sp USING (point_id)
LEFT JOIN technicians AS tc USING (technician_id)
WHERE b.ticket_id = $1 AND b.status = 'booked';

-- name: upsert_technician
INSERT INTO technicians (technician_id, point_id, name, name_en, photo_url) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (technician_id) DO UPDATE SET point_id = EXCLUDED.point_id, name = EXCLUDED.name,
    name_en = EXCLUDED.name_en, photo_url = EXCLUDED.photo_url;

-- name: upsert_repair_report
INSERT INTO repair_reports (ticket_id, summary, items, labour_won, warranty_covered, total_won, entered_by)
VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7)
ON CONFLICT (ticket_id) DO UPDATE SET summary = EXCLUDED.summary, items = EXCLUDED.items,
    labour_won = EXCLUDED.labour_won, warranty_covered = EXCLUDED.warranty_covered,
    total_won = EXCLUDED.total_won, entered_by = EXCLUDED.entered_by, entered_at = clock_timestamp();

-- name: repair_report
SELECT ticket_id, summary, items::text AS items, labour_won, warranty_covered, total_won, entered_by, entered_at
FROM repair_reports WHERE ticket_id = $1;

-- name: survey_of
SELECT score, solved, comment, flagged, answered_at FROM customer_surveys WHERE ticket_id = $1 AND link_id = $2;

-- name: insert_survey
INSERT INTO customer_surveys (ticket_id, link_id, score, solved, comment, flagged)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (ticket_id, link_id) DO NOTHING
RETURNING survey_id;

-- name: set_follow_up
UPDATE customer_surveys SET follow_up_ticket_id = $2 WHERE survey_id = $1;

-- name: ticket_payload
SELECT ticket_event_payload(t)::text AS payload FROM tickets AS t WHERE ticket_id = $1;

-- name: due_visit_reminders
-- Booked visits whose reminder is due, with their case: the hour-before one inside the hour before the
-- window (or during it), else the day-before one from 18:00 KST the day before. $1: Korean wall-clock
-- time. A visit reminded an hour before is not reminded of the day before any more.
WITH due AS (
    SELECT b.*, t.case_id, t.device_id, t.code,
           b.reminded_hour_before_at IS NULL
             AND $1 >= b.day + CASE b.slot WHEN 'am' THEN time '08:00' ELSE time '12:00' END
             AND $1 < b.day + CASE b.slot WHEN 'am' THEN time '13:00' ELSE time '18:00' END AS hour_due,
           b.reminded_day_before_at IS NULL AND b.reminded_hour_before_at IS NULL
             AND $1 >= (b.day - 1) + time '18:00' AND $1 < b.day + time '08:00' AS day_due
    FROM visit_bookings AS b JOIN tickets AS t USING (ticket_id)
    WHERE b.status = 'booked' AND b.day BETWEEN ($1::date - 1) AND ($1::date + 1)
)
SELECT booking_id, ticket_id, day, slot, case_id, device_id, code,
       CASE WHEN hour_due THEN 'hour_before' ELSE 'day_before' END AS which
FROM due WHERE hour_due OR day_due
ORDER BY booking_id
LIMIT $2;

-- name: mark_reminded
UPDATE visit_bookings
SET reminded_day_before_at = coalesce(reminded_day_before_at, CASE WHEN $2 = 'day_before' THEN clock_timestamp() END),
    reminded_hour_before_at = CASE WHEN $2 = 'hour_before' THEN clock_timestamp() ELSE reminded_hour_before_at END
WHERE booking_id = $1;

-- name: has_open_ticket
SELECT EXISTS (
    SELECT 1 FROM tickets WHERE device_id = $1 AND family = $2
    AND status NOT IN ('resolved', 'closed', 'resolved_remotely', 'cancelled')
);

-- name: erase_recipient
-- Data protection: the person's links stop working and lose their number; their happy-call comments
-- lose their words. $1: the national number. How many links.
WITH links AS (
    UPDATE customer_links
    SET phone = 'erased:' || link_id, revoked_at = coalesce(revoked_at, clock_timestamp()),
        revoked_by = coalesce(revoked_by, 'erasure')
    WHERE phone NOT LIKE 'erased:%' AND national_phone(phone) = $1
    RETURNING link_id
), surveys AS (
    UPDATE customer_surveys SET comment = '' WHERE link_id IN (SELECT link_id FROM links) RETURNING 1
)
SELECT count(*) FROM links;

-- name: recipient_answers
-- Data protection: what a person told us through their links (the export). $1: the national number.
SELECT l.case_id, l.device_id, a.kind, a.details::text AS details, a.at,
       s.ticket_id AS survey_ticket_id, s.score, s.solved, s.comment
FROM customer_links AS l
JOIN customer_answers AS a USING (link_id)
LEFT JOIN customer_surveys AS s ON s.link_id = l.link_id AND a.kind = 'survey'
WHERE l.phone NOT LIKE 'erased:%' AND national_phone(l.phone) = $1
ORDER BY a.answer_id;
