-- Named queries of the device registry: registration and the registry joined with each device's state.

-- name: upsert_devices
-- One row per device; a repeat registration updates the registry fields and updated_at. $12, the API
-- key registering, is kept for new devices only (who registered it first).
WITH upserted AS (
    INSERT INTO devices AS d (device_id, model, serial, installed_on, address, region, latitude, longitude,
                              customer_name, report_interval_s, vulnerable, registered_by)
    SELECT *, $12::text FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[], $6::text[],
                                    $7::float8[], $8::float8[], $9::text[], $10::int[], $11::bool[])
    ON CONFLICT (device_id) DO UPDATE SET
        model = EXCLUDED.model,
        serial = EXCLUDED.serial,
        installed_on = EXCLUDED.installed_on,
        address = EXCLUDED.address,
        region = EXCLUDED.region,
        latitude = EXCLUDED.latitude,
        longitude = EXCLUDED.longitude,
        customer_name = EXCLUDED.customer_name,
        report_interval_s = EXCLUDED.report_interval_s,
        vulnerable = EXCLUDED.vulnerable,
        updated_at = now()
    RETURNING 1
)
SELECT count(*) FROM upserted;

-- name: delete_contacts
DELETE FROM device_contacts WHERE device_id = ANY($1::text[]);

-- name: insert_contacts
INSERT INTO device_contacts (device_id, name, phone, role, preferred_channel, language, consent_alerts,
                             consent_marketing, quiet_start, quiet_end, escalation_rank)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[],
                     $8::bool[], $9::time[], $10::time[], $11::smallint[]);

-- name: active_faults
SELECT code, raised_at, changed_at FROM device_faults WHERE device_id = $1 AND active ORDER BY raised_at, code;

-- name: device_exists
SELECT EXISTS (SELECT 1 FROM devices WHERE device_id = $1);

-- name: device_with_state
-- One device from the device_status view (migration 0004), with its newest reading. A query of its
-- own: a catch-all "($1 IS NULL OR device_id = $1)" turns into a scan of every device once the
-- server caches a generic plan for the prepared statement.
SELECT v.*, reading_json_by_key(v.device_id, v.last_reading_at, v.last_seq)::text AS latest_json
FROM device_status AS v
WHERE v.device_id = $1;

-- name: devices_with_state
-- A page of devices in device_id order after $3 ('' for the first page), filtered by status ($1) and
-- region ($2) when given; $4 rows at most. "device_id > coalesce($3, '')" stays an index range in a
-- generic plan, so a page costs the rows walked to fill it, not the whole fleet.
SELECT v.*, reading_json_by_key(v.device_id, v.last_reading_at, v.last_seq)::text AS latest_json
FROM device_status AS v
WHERE v.device_id > coalesce($3::text, '')
  AND ($1::text IS NULL OR v.status = $1)
  AND ($2::text IS NULL OR v.region = $2)
ORDER BY v.device_id
LIMIT $4;

-- name: search_devices
-- Devices matching every given criterion, by device_id; run with custom plans (see search_devices in
-- device_registry), so each search uses the indexes its criteria need. $1 phone (any contact's,
-- compared as national digits), $2 name (part of the customer's or a contact's name), $3 address (part of it),
-- $4 device_id prefix, $5 model, $6 region, $7 status, $8 limit.
SELECT v.*, NULL::text AS latest_json
FROM device_status AS v
WHERE ($1::text IS NULL OR EXISTS (SELECT 1 FROM device_contacts AS c
                                   WHERE c.device_id = v.device_id AND c.phone_national = national_phone($1)))
  AND ($2::text IS NULL OR v.customer_name ILIKE '%' || $2 || '%'
       OR EXISTS (SELECT 1 FROM device_contacts AS c
                  WHERE c.device_id = v.device_id AND c.name ILIKE '%' || $2 || '%'))
  AND ($3::text IS NULL OR v.address ILIKE '%' || $3 || '%')
  AND ($4::text IS NULL OR v.device_id LIKE $4 || '%')
  AND ($5::text IS NULL OR v.model = $5)
  AND ($6::text IS NULL OR v.region = $6)
  AND ($7::text IS NULL OR v.status = $7)
ORDER BY v.device_id
LIMIT $8;

-- name: custom_plans
-- For the rest of the transaction: plan each statement for its parameters (no cached generic plan).
SET LOCAL plan_cache_mode = force_custom_plan;

-- name: installer_status
-- Whether device $1 came online, without its household; only when the key $2 registered it ($2 NULL:
-- any device).
SELECT v.device_id, v.status, v.online, v.connected, v.last_seen, v.last_reading_at, v.firmware,
       v.reported_model, v.active_codes
FROM device_status AS v JOIN devices AS d ON d.device_id = v.device_id
WHERE v.device_id = $1 AND ($2::text IS NULL OR d.registered_by = $2);

-- name: recent_events
-- The device's newest error events (raised and cleared), newest first: the console's error timeline.
SELECT ts, seq, code, state, received_at FROM events WHERE device_id = $1 AND ts >= $2
ORDER BY ts DESC, seq DESC LIMIT $3;
