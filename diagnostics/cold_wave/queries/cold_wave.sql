-- Named queries of the forecast, the advisories and freeze preparation (migration 0025).

-- name: store_forecast
INSERT INTO weather_forecasts (region, kind, valid_at, issued_at, temp_c, source)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::float8[], $6::text[])
ON CONFLICT (region, kind, valid_at, issued_at) DO NOTHING;

-- name: daily_minima
-- Each region's forecast minimum per Korean day from $1 for $2 days: the newest issue of each hour
-- (and of the day's TMN), the lowest of them.
WITH newest AS (
    SELECT DISTINCT ON (region, kind, valid_at) region, kind, valid_at, temp_c
    FROM weather_forecasts
    WHERE valid_at >= ($1::date)::timestamp AT TIME ZONE 'Asia/Seoul'
      AND valid_at < (($1::date) + $2::int)::timestamp AT TIME ZONE 'Asia/Seoul'
      AND kind IN ('TMP', 'TMN')
    ORDER BY region, kind, valid_at, issued_at DESC
)
SELECT region, (valid_at AT TIME ZONE 'Asia/Seoul')::date AS day, min(temp_c) AS min_c
FROM newest GROUP BY region, day ORDER BY region, day;

-- name: upsert_advisory
INSERT INTO cold_wave_advisories (region, day, min_c, drop_c, reasons) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (region, day) DO UPDATE SET min_c = EXCLUDED.min_c, drop_c = EXCLUDED.drop_c,
    reasons = EXCLUDED.reasons, updated_at = clock_timestamp()
RETURNING advisory_id, (xmax = 0) AS new;

-- name: advisories_to_prepare
-- Advisories whose day starts within $1 and whose households have not been prepared yet.
SELECT advisory_id, region, day, min_c, drop_c, reasons FROM cold_wave_advisories
WHERE prepared_at IS NULL AND (day::timestamp AT TIME ZONE 'Asia/Seoul') <= clock_timestamp() + $1::interval
  AND day >= (clock_timestamp() AT TIME ZONE 'Asia/Seoul')::date
ORDER BY day, advisory_id
FOR UPDATE SKIP LOCKED;

-- name: list_advisories
SELECT advisory_id, region, day, min_c, drop_c, reasons, issued_at, prepared_at, households, told
FROM cold_wave_advisories WHERE day >= $1 ORDER BY day, region;

-- name: freeze_risk
-- Every boiler of the region with what makes it likely to freeze: a vulnerable household, freeze or
-- condensate faults before, a frost-watch finding (A04, A12) in the last 60 days, age, a home that looks
-- empty (no burner firing for the last three days with reports), and its remote-access consent.
SELECT d.device_id, d.vulnerable, d.installed_on,
       EXISTS (SELECT 1 FROM fault_cases AS fc WHERE fc.device_id = d.device_id
               AND fc.family IN ('freeze', 'condensate') AND fc.code LIKE 'E%') AS froze_before,
       EXISTS (SELECT 1 FROM predictions AS p WHERE p.device_id = d.device_id AND p.code IN ('A04', 'A12')
               AND p.predicted_at > clock_timestamp() - interval '60 days') AS frost_finding,
       coalesce((SELECT sum(h.samples) > 0 AND sum(h.firing) = 0 FROM device_health_daily AS h
                 WHERE h.device_id = d.device_id AND h.day >= $2::date - 3), false) AS looks_empty,
       (SELECT rc.scope FROM remote_consents AS rc WHERE rc.device_id = d.device_id AND rc.revoked_at IS NULL
               AND (rc.expires_at IS NULL OR rc.expires_at > clock_timestamp())
        ORDER BY rc.consent_id DESC LIMIT 1) AS consent_scope
FROM devices AS d WHERE d.region = $1
ORDER BY d.device_id;

-- name: record_preparation
INSERT INTO freeze_preparations (advisory_id, device_id, risk, risk_rank, reasons, told, frost_protection)
SELECT $1, * FROM unnest($2::text[], $3::float8[], $4::int[], $5::jsonb[], $6::bool[], $7::text[])
ON CONFLICT (advisory_id, device_id) DO NOTHING;

-- name: prepared
UPDATE cold_wave_advisories SET prepared_at = clock_timestamp(), households = $2, told = $3 WHERE advisory_id = $1;


-- name: region_overview
-- The cold-wave view of the fleet, one row per region with boilers: households, vulnerable ones, the
-- households the last preparation ranked at risk (3 points or more), open tickets (urgent ones too),
-- boilers held by open incidents, and the region's next advisory from $1 on.
SELECT d.region,
       count(*) AS households,
       count(*) FILTER (WHERE d.vulnerable) AS vulnerable,
       (SELECT count(*) FROM tickets AS t WHERE t.region = d.region
         AND t.status IN ('open', 'contacted', 'scheduled', 'dispatched')) AS open_tickets,
       (SELECT count(*) FROM tickets AS t WHERE t.region = d.region AND t.priority <= 2
         AND t.status IN ('open', 'contacted', 'scheduled', 'dispatched')) AS urgent_tickets,
       (SELECT coalesce(sum(a.devices - a.cleared), 0) FROM area_incidents AS a
         WHERE a.region = d.region AND a.status = 'open')::int AS held,
       a.day AS advisory_day, a.min_c AS advisory_min_c, a.told AS advisory_told,
       (SELECT count(*) FROM freeze_preparations AS p WHERE p.advisory_id = a.advisory_id AND p.risk >= 3) AS at_risk
FROM devices AS d
LEFT JOIN LATERAL (
    SELECT * FROM cold_wave_advisories AS c WHERE c.region = d.region AND c.day >= $1 ORDER BY c.day LIMIT 1
) AS a ON true
WHERE d.region IS NOT NULL
GROUP BY d.region, a.advisory_id, a.day, a.min_c, a.told
ORDER BY a.day NULLS LAST, a.min_c NULLS LAST, d.region;

-- name: open_work
-- A point's open work without a booked visit: tickets open or contacted, with what ranks them.
SELECT t.ticket_id, t.code, t.kind, t.opened_at, t.device_id, d.vulnerable, d.latitude, d.longitude
FROM tickets AS t JOIN devices AS d USING (device_id)
WHERE t.service_point_id = $1 AND t.status IN ('open', 'contacted')
  AND NOT EXISTS (SELECT 1 FROM visit_bookings AS b WHERE b.ticket_id = t.ticket_id AND b.status = 'booked')
ORDER BY t.opened_at, t.ticket_id;

-- name: record_calls
-- Calls reported by the call center; one reported twice (same external id) is kept once. The region is
-- the device's when a device is named and no region is. How many were new.
WITH rows AS (
    SELECT u.at, coalesce(u.region, d.region) AS region, d.device_id, u.reason, u.external_id
    FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[])
             AS u(at, region, device_id, reason, external_id)
    LEFT JOIN devices AS d ON d.device_id = u.device_id
), inserted AS (
    INSERT INTO inbound_calls (at, region, device_id, reason, external_id)
    SELECT at, region, device_id, reason, external_id FROM rows
    ON CONFLICT (external_id) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM inserted;

-- name: daily_calls
-- Calls per Korean day of a region from $2 to $3 (inclusive), zero-filled.
SELECT d::date AS day, count(c.call_id) AS calls
FROM generate_series($2::date, $3::date, interval '1 day') AS d
LEFT JOIN inbound_calls AS c ON c.region = $1
    AND c.at >= (d::date)::timestamp AT TIME ZONE 'Asia/Seoul'
    AND c.at < (d::date + 1)::timestamp AT TIME ZONE 'Asia/Seoul'
GROUP BY d ORDER BY d;

-- name: held_now
SELECT coalesce(sum(devices - cleared), 0)::int FROM area_incidents WHERE region = $1 AND status = 'open';
