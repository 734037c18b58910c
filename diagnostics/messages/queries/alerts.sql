-- Named queries of the customer_alerts store (table: migrations 0003, 0009 and 0014).

-- name: insert_alert
-- An alert to one contact: wave 0 the first alert, 1 the escalation to the next contacts.
INSERT INTO customer_alerts (device_id, contact_id, phone, channel, kind, code, case_id, ticket_id, message_ko,
                             message_en, wave, incident_id)
VALUES (:device_id, :contact_id, :phone, :channel, :kind, :code, :case_id, :ticket_id, :message_ko, :message_en,
        :wave, :incident_id);

-- name: guidance_progress
-- How far the case's guidance got: when the first message went out, and until when messages still
-- waiting (quiet hours, provider retries) are due. With the database's clock.
SELECT min(sent_at) FILTER (WHERE status = 'sent') AS first_sent_at,
       max(not_before) FILTER (WHERE status = 'pending') AS pending_until,
       clock_timestamp() AS now
FROM customer_alerts WHERE case_id = $1 AND kind = 'guidance';

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

-- name: claim_due
-- Up to $1 due alerts, each moved a lease of $2 seconds ahead and counted as an attempt before it is
-- sent; SKIP LOCKED lets several workers take disjoint sets. The contact's preferences come along
-- (NULL when the contact was removed since).
WITH due AS (
    SELECT alert_id FROM customer_alerts
    WHERE status = 'pending' AND not_before <= clock_timestamp()
    ORDER BY not_before, alert_id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE customer_alerts AS a
    SET attempts = a.attempts + 1, not_before = clock_timestamp() + make_interval(secs => $2)
    FROM due WHERE a.alert_id = due.alert_id
    RETURNING a.alert_id, a.device_id, a.contact_id, a.phone, a.channel, a.kind, a.code, a.message_ko,
              a.message_en, a.attempts, a.created_at, a.wave, a.case_id, a.ticket_id
)
-- The contact is found by device and number, not by id: re-registering a device replaces its
-- contact rows (new ids), and the alert still belongs to the person with that number.
-- stale_reason: the alert's fault case was resolved or its ticket ended since it was written (the
-- engine withdraws such alerts when that happens; this catches any path that did not). The result
-- of a repair is never stale: it reports the ticket's end.
SELECT c.*, dc.language, dc.consent_alerts, dc.consent_marketing, dc.quiet_start, dc.quiet_end,
       CASE WHEN c.kind IN ('result', 'incident_resolved') THEN NULL  -- news of an end: true after it
            WHEN fc.status IN ('resolved_by_customer', 'closed') THEN 'the fault case was ' || fc.status
            WHEN t.status IN ('resolved', 'closed', 'resolved_remotely', 'cancelled') THEN 'the ticket is ' || t.status
       END AS stale_reason
FROM claimed AS c
LEFT JOIN fault_cases AS fc ON fc.case_id = c.case_id
LEFT JOIN tickets AS t ON t.ticket_id = c.ticket_id
LEFT JOIN LATERAL (
    SELECT language, consent_alerts, consent_marketing, quiet_start, quiet_end FROM device_contacts
    WHERE device_id = c.device_id AND phone_national = national_phone(c.phone)
    ORDER BY contact_id LIMIT 1
) AS dc ON true;

-- The outcome statements below are fenced by the claim: $2 is the attempt number the worker
-- claimed. A worker whose lease ran out (and whose alert another worker claimed again) changes
-- nothing.

-- name: mark_sent
UPDATE customer_alerts
SET status = 'sent', provider = $3, channel_used = $4, provider_message_id = $5, sent_at = clock_timestamp(),
    last_error = NULL
WHERE alert_id = $1 AND attempts = $2 AND status = 'pending';

-- name: retry_later
UPDATE customer_alerts SET not_before = $3, last_error = $4
WHERE alert_id = $1 AND attempts = $2 AND status = 'pending';

-- name: defer
-- Not sent now (quiet hours): not an attempt.
UPDATE customer_alerts SET not_before = $3, attempts = attempts - 1, last_error = $4
WHERE alert_id = $1 AND attempts = $2 AND status = 'pending';

-- name: close_unsent
-- $3: 'failed' (gave up), 'skipped' (no consent, no contact) or 'withdrawn' (no longer true).
UPDATE customer_alerts SET status = $3, last_error = $4
WHERE alert_id = $1 AND attempts = $2 AND status = 'pending';

-- name: acknowledge
-- Acknowledging one alert acknowledges every alert of its fault case: someone has seen it.
WITH target AS (SELECT alert_id, case_id FROM customer_alerts WHERE alert_id = $1)
UPDATE customer_alerts AS a
SET acknowledged_at = coalesce(a.acknowledged_at, clock_timestamp()),
    acknowledged_by = coalesce(a.acknowledged_by, $2)
FROM target
WHERE a.alert_id = target.alert_id OR (target.case_id IS NOT NULL AND a.case_id = target.case_id)
RETURNING a.alert_id;

-- name: alert_owner
SELECT device_id, national_phone(phone) AS phone_national FROM customer_alerts WHERE alert_id = $1;

-- name: device_alerts
-- Newest first; $2 (a national phone number) keeps only that contact's alerts.
SELECT alert_id, device_id, contact_id, phone, channel, kind, code, wave, status, attempts, provider,
       channel_used, sent_at, last_error, acknowledged_at, acknowledged_by, escalated_at, created_at,
       message_ko, message_en
FROM customer_alerts
WHERE device_id = $1 AND ($2::text IS NULL OR national_phone(phone) = $2)
ORDER BY alert_id DESC
LIMIT $3;

-- name: withdraw_pending
-- Alerts still waiting (quiet hours, a provider retry) about a fault case that was resolved or a
-- ticket that ended: what they say is no longer true. Kept as 'withdrawn' with the reason. $1 case,
-- $2 ticket (when $1 is NULL: its case's alerts; every fault alert carries its case), $3 reason.
-- The repair's result is news of the ticket's end, so it is never withdrawn by it.
UPDATE customer_alerts SET status = 'withdrawn', last_error = $3
WHERE status = 'pending' AND kind NOT IN ('result', 'incident_resolved')
  AND case_id = coalesce($1::bigint, (SELECT t.case_id FROM tickets AS t WHERE t.ticket_id = $2::bigint))
RETURNING alert_id;

-- name: erase_recipient
-- Data protection: the person's alerts lose their number and words; how many.
WITH erased AS (
    UPDATE customer_alerts SET phone = 'erased', message_ko = '', message_en = '', contact_id = NULL
    WHERE national_phone(phone) = $1
    RETURNING 1
)
SELECT count(*) FROM erased;
