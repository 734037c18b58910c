-- Named queries of customer records: the access log, export and erasure (migration 0011).

-- name: log_access
INSERT INTO record_access_log (key_id, actor, action, subject, device_id, customer_ref)
SELECT $1, $2, $3, $4, d, $6 FROM unnest($5::text[]) AS d;

-- name: list_access
-- Newest first; each filter optional; keyset on access_id ($3: before).
SELECT access_id, at, key_id, actor, action, subject, device_id, customer_ref
FROM record_access_log
WHERE ($1::text IS NULL OR device_id = $1) AND ($2::text IS NULL OR customer_ref = $2)
  AND ($3::bigint IS NULL OR access_id < $3)
ORDER BY access_id DESC LIMIT $4;

-- name: customer_devices
-- The devices on which the phone ($1, national form) is a contact, with that contact's entry.
SELECT d.device_id, d.model, d.serial, d.installed_on, d.address, d.region, d.customer_name,
       dc.name AS contact_name, dc.role, dc.preferred_channel, dc.language, dc.consent_alerts,
       dc.consent_marketing, to_char(dc.quiet_start, 'HH24:MI') AS quiet_start,
       to_char(dc.quiet_end, 'HH24:MI') AS quiet_end
FROM device_contacts AS dc JOIN devices AS d ON d.device_id = dc.device_id
WHERE dc.phone_national = $1
ORDER BY d.device_id;

-- name: customer_tickets
SELECT ticket_id, device_id, code, kind, status, opened_at, closed_at
FROM tickets WHERE device_id = ANY($1::text[]) ORDER BY ticket_id;

-- name: customer_alerts
SELECT alert_id, device_id, kind, code, status, channel_used, sent_at, acknowledged_at, message_ko, message_en,
       created_at
FROM customer_alerts WHERE national_phone(phone) = $1 ORDER BY alert_id;

-- The erasure, in order (one transaction): the person's alerts lose their number and words, what
-- the sink recorded for them goes (both through their stores: diagnostics/messages, outbox/alerts),
-- their API keys go, the devices they owned lose the owner's name and address, and their contact
-- rows go. Telemetry, events and tickets stay: they describe the boiler, not the person.

-- name: erase_keys
DELETE FROM api_keys WHERE customer_phone = $1;

-- name: erase_owner_fields
UPDATE devices SET customer_name = NULL, address = NULL, updated_at = clock_timestamp()
WHERE device_id IN (SELECT device_id FROM device_contacts WHERE phone_national = $1 AND role = 'owner');

-- name: erase_contacts
DELETE FROM device_contacts WHERE phone_national = $1 RETURNING device_id;
