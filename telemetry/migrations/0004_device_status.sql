-- device_state is written once per device per ingest batch. With a large fleet every message comes
-- from a different device, so that is one update per message: keeping the newest report's JSON in
-- the row made each update parse and rewrite ~600 bytes, and at 200,000 devices ingest fell to a
-- third of its rate (bench/device_growth.py). The newest values are already stored in readings,
-- found by the key device_state keeps (device_id, last_reading_at, last_seq).
ALTER TABLE device_state DROP COLUMN latest;

-- Room on every page for the next version of each row, so that updates are HOT (no index entry).
ALTER TABLE device_state SET (fillfactor = 70);

-- A reading as one JSON object, the shape the API shows as a device's newest values: its
-- measurements, ts and seq, and the fields the device sent that the contract does not know
-- (readings.extra) at the top level, as sent. A single expression, so the planner inlines it.
CREATE FUNCTION reading_json(r readings) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_strip_nulls(to_jsonb(r) - 'device_id' - 'received_at' - 'extra') || coalesce(r.extra, '{}'::jsonb)
$$;

-- A device's reading by its full key (device_state keeps the newest one's), as reading_json; NULL
-- when gone (aged out of retention). PL/pgSQL on purpose: its plan is kept for the session and,
-- with the time as a parameter, excludes every other chunk at start-up, so the lookup is one index
-- probe however many days are stored. The alternatives measured worse: a LATERAL join probes every
-- chunk's index (no run-time exclusion there), a SQL function is planned again on every call
-- (about 2 ms with a week of daily chunks), and a separate query costs a round trip.
CREATE FUNCTION reading_json_by_key(p_device_id text, p_ts timestamptz, p_seq bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE STRICT AS $$
BEGIN
    RETURN (SELECT reading_json(r) FROM readings AS r
            WHERE r.device_id = p_device_id AND r.ts = p_ts AND r.seq = p_seq);
END
$$;

-- The one definition of a device's online flag and status; every reader of devices goes through it.
--   online: not disconnected (a missing birth/last-will counts as connected) and heard from within
--           three report intervals;
--   status: 'offline' when not online, else 'fault' when any error code is active, else 'online'.
-- Readers filter it by device_id (or walk it in device_id order): the filters reach the devices
-- table's primary key, and the per-device parts are computed only for the rows returned.
CREATE VIEW device_status AS
SELECT d.device_id, d.model, d.serial, d.installed_on, d.address, d.region, d.latitude, d.longitude,
       d.customer_name, d.report_interval_s, d.registered_at, d.updated_at,
       s.last_seen, s.last_reading_at, s.last_seq, s.connected, s.firmware, s.reported_model,
       f.codes AS active_codes, c.contacts, o.online, st.status
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
) AS st;
