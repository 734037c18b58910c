-- Named queries of the device registry: registration and the registry joined with each device's state.

-- name: upsert_devices
-- One row per device; a repeat registration updates the registry fields and updated_at.
WITH upserted AS (
    INSERT INTO devices AS d (device_id, model, serial, installed_on, address, region, latitude, longitude,
                              customer_name, report_interval_s)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[], $6::text[], $7::float8[],
                         $8::float8[], $9::text[], $10::int[])
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
        updated_at = now()
    RETURNING 1
)
SELECT count(*) FROM upserted;

-- name: delete_contacts
DELETE FROM device_contacts WHERE device_id = ANY($1::text[]);

-- name: insert_contacts
INSERT INTO device_contacts (device_id, name, phone, role, preferred_channel)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]);

-- name: device_exists
SELECT EXISTS (SELECT 1 FROM devices WHERE device_id = $1);

-- name: devices_with_state
-- The one definition of a device's online flag and status; every reader of devices goes through it.
--   online: not disconnected (a missing birth/last-will counts as connected) and heard from within
--           three report intervals;
--   status: 'offline' when not online, else 'fault' when any error code is active, else 'online'.
-- $1 device_id (exact, or NULL), $2 status (or NULL), $3 region (or NULL), $4 after device_id (or NULL),
-- $5 limit. Ordered by device_id for keyset pagination.
SELECT d.device_id, d.model, d.serial, d.installed_on, d.address, d.region, d.latitude, d.longitude,
       d.customer_name, d.report_interval_s, d.registered_at, d.updated_at,
       s.last_seen, s.last_reading_at, latest_reading(s.device_id, s.last_reading_at, s.last_seq)::text AS latest_json, s.connected, s.firmware, s.reported_model,
       f.codes AS active_codes, c.contacts::text AS contacts_json, o.online, st.status
FROM devices AS d
LEFT JOIN device_state AS s ON s.device_id = d.device_id
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(df.code ORDER BY df.code), '{}'::text[]) AS codes
    FROM device_faults AS df
    WHERE df.device_id = d.device_id AND df.active
) AS f
CROSS JOIN LATERAL (
    SELECT coalesce(jsonb_agg(jsonb_build_object('name', dc.name, 'phone', dc.phone, 'role', dc.role,
                                                 'preferred_channel', dc.preferred_channel)
                              ORDER BY dc.contact_id), '[]'::jsonb) AS contacts
    FROM device_contacts AS dc
    WHERE dc.device_id = d.device_id
) AS c
CROSS JOIN LATERAL (
    SELECT coalesce(s.connected, true)
           AND s.last_seen IS NOT NULL
           AND s.last_seen > now() - make_interval(secs => 3 * d.report_interval_s) AS online
) AS o
CROSS JOIN LATERAL (
    SELECT CASE WHEN NOT o.online THEN 'offline'
                WHEN cardinality(f.codes) > 0 THEN 'fault'
                ELSE 'online' END AS status
) AS st
WHERE ($1::text IS NULL OR d.device_id = $1)
  AND ($2::text IS NULL OR st.status = $2)
  AND ($3::text IS NULL OR d.region = $3)
  AND ($4::text IS NULL OR d.device_id > $4)
ORDER BY d.device_id
LIMIT $5;
