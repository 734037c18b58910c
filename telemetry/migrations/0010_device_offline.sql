-- device.offline events for the call center: one per offline episode of a device.
--
-- One definition of "online" for the device view and the offline sweep: heard within three report
-- intervals and not disconnected by its last will.
CREATE FUNCTION device_online(connected boolean, last_seen timestamptz, report_interval_s integer)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce(connected, true) AND last_seen IS NOT NULL
           AND last_seen > now() - make_interval(secs => 3 * report_interval_s)
$$;

-- Set when a device.offline event is written for the current offline episode; cleared once the
-- device is online again, so its next disappearance is told too.
ALTER TABLE device_state ADD COLUMN offline_notified_at timestamptz;

-- Devices already offline are not news: they are told about after they come back and go again.
UPDATE device_state AS s SET offline_notified_at = clock_timestamp()
FROM devices AS d
WHERE d.device_id = s.device_id AND NOT device_online(s.connected, s.last_seen, d.report_interval_s);

-- The device view uses that definition, and its contacts now carry their preferences (migration 0009).

CREATE OR REPLACE VIEW device_status AS
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
    SELECT coalesce(jsonb_agg(jsonb_build_object('contact_id', dc.contact_id, 'name', dc.name, 'phone', dc.phone,
                                                 'role', dc.role, 'preferred_channel', dc.preferred_channel,
                                                 'language', dc.language, 'consent_alerts', dc.consent_alerts,
                                                 'consent_marketing', dc.consent_marketing,
                                                 'quiet_start', to_char(dc.quiet_start, 'HH24:MI'),
                                                 'quiet_end', to_char(dc.quiet_end, 'HH24:MI'),
                                                 'escalation_rank', dc.escalation_rank)
                              ORDER BY dc.contact_id), '[]'::jsonb) AS contacts
    FROM device_contacts AS dc
    WHERE dc.device_id = d.device_id
) AS c
CROSS JOIN LATERAL (
    SELECT device_online(s.connected, s.last_seen, d.report_interval_s) AS online
) AS o
CROSS JOIN LATERAL (
    SELECT CASE WHEN NOT o.online THEN 'offline'
                WHEN cardinality(f.codes) > 0 THEN 'fault'
                ELSE 'online' END AS status
) AS st;

