-- name: refresh_health_day
-- Features of one Korean calendar day $1, that is [$2, $3), for every device that reported in it;
-- idempotent. The lines against modulation (and the pressure line) pool the heating samples of the
-- day and the two before it, [$4, $3): a day alone may hold too few burns for a line to mean anything,
-- and a trend of weeks loses little to a three-day window. The fan line uses only samples taken at
-- −1 °C or warmer, so that ice in a condensate pipe (a fault of its own, watched hour by hour) does not pass
-- for a narrowing flue, and gives the frost watch a baseline free of ice.
INSERT INTO device_health_daily AS h (
    device_id, day, samples, firing, outdoor_min, outdoor_avg, flame_ua_p50, fan_intercept, fan_slope,
    fan_at50, approach_at50, spread_at50, pressure_at40, pressure_min, starts_total, failed_total,
    flame_losses_total, refills_total, burner_hours_total)
SELECT device_id, $1::date, samples, firing, outdoor_min, outdoor_avg, flame_ua_p50,
       CASE WHEN fan_fitted THEN fan_i END, CASE WHEN fan_fitted THEN fan_s END,
       CASE WHEN fan_fitted THEN fan_i + 50 * fan_s END,
       CASE WHEN fitted THEN approach_i + 50 * approach_s END,
       CASE WHEN fitted THEN spread_i + 50 * spread_s END,
       CASE WHEN pressure_n >= 6 AND pressure_sxx >= 100 THEN pressure_i + 40 * pressure_s END,
       pressure_min, starts_total, failed_total, flame_losses_total, refills_total, burner_hours_total
FROM (
    SELECT r.device_id, count(*) FILTER (WHERE x.today)::integer AS samples,
           count(*) FILTER (WHERE x.ch AND x.today)::integer AS firing,
           min(r.outdoor_c) FILTER (WHERE x.today) AS outdoor_min,
           avg(r.outdoor_c) FILTER (WHERE x.today) AS outdoor_avg,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY r.flame_current_ua)
               FILTER (WHERE r.flame_on AND x.today) AS flame_ua_p50,
           regr_intercept(r.fan_rpm, r.modulation_pct) FILTER (WHERE x.ch_thawed) AS fan_i,
           regr_slope(r.fan_rpm, r.modulation_pct) FILTER (WHERE x.ch_thawed) AS fan_s,
           regr_intercept(r.flue_c - r.ch_return_c, r.modulation_pct) FILTER (WHERE x.ch) AS approach_i,
           regr_slope(r.flue_c - r.ch_return_c, r.modulation_pct) FILTER (WHERE x.ch) AS approach_s,
           regr_intercept(r.ch_flow_c - r.ch_return_c, r.modulation_pct) FILTER (WHERE x.ch) AS spread_i,
           regr_slope(r.ch_flow_c - r.ch_return_c, r.modulation_pct) FILTER (WHERE x.ch) AS spread_s,
           coalesce(regr_count(r.fan_rpm, r.modulation_pct) FILTER (WHERE x.ch_thawed) >= 8
                    AND regr_sxx(r.fan_rpm, r.modulation_pct) FILTER (WHERE x.ch_thawed) >= 600, false) AS fan_fitted,
           coalesce(regr_count(r.flue_c - r.ch_return_c, r.modulation_pct) FILTER (WHERE x.ch) >= 8
                    AND regr_sxx(r.flue_c - r.ch_return_c, r.modulation_pct) FILTER (WHERE x.ch) >= 600, false) AS fitted,
           regr_intercept(r.ch_pressure_bar, (r.ch_flow_c + r.ch_return_c) / 2) AS pressure_i,
           regr_slope(r.ch_pressure_bar, (r.ch_flow_c + r.ch_return_c) / 2) AS pressure_s,
           regr_count(r.ch_pressure_bar, (r.ch_flow_c + r.ch_return_c) / 2) AS pressure_n,
           regr_sxx(r.ch_pressure_bar, (r.ch_flow_c + r.ch_return_c) / 2) AS pressure_sxx,
           min(r.ch_pressure_bar) FILTER (WHERE x.today) AS pressure_min,
           max(r.burner_starts) AS starts_total, max(r.failed_starts) AS failed_total,
           max(r.flame_loss_count) AS flame_losses_total, max(r.auto_refill_count) AS refills_total,
           max(r.burner_hours) AS burner_hours_total
    FROM readings AS r
    CROSS JOIN LATERAL (SELECT coalesce(r.flame_on, false) AND coalesce(r.dhw_flow_lpm, 0) = 0
                               AND coalesce(r.modulation_pct, 0) > 0 AS ch,
                               r.ts >= $2 AS today) AS x0
    CROSS JOIN LATERAL (SELECT x0.ch, x0.today, x0.ch AND coalesce(r.outdoor_c, 0) > -1 AS ch_thawed) AS x
    WHERE r.ts >= $4 AND r.ts < $3
    GROUP BY r.device_id
    HAVING count(*) FILTER (WHERE x.today) > 0
) AS s
ON CONFLICT (device_id, day) DO UPDATE SET
    samples = EXCLUDED.samples, firing = EXCLUDED.firing, outdoor_min = EXCLUDED.outdoor_min,
    outdoor_avg = EXCLUDED.outdoor_avg, flame_ua_p50 = EXCLUDED.flame_ua_p50,
    fan_intercept = EXCLUDED.fan_intercept, fan_slope = EXCLUDED.fan_slope, fan_at50 = EXCLUDED.fan_at50,
    approach_at50 = EXCLUDED.approach_at50, spread_at50 = EXCLUDED.spread_at50,
    pressure_at40 = EXCLUDED.pressure_at40, pressure_min = EXCLUDED.pressure_min,
    starts_total = EXCLUDED.starts_total, failed_total = EXCLUDED.failed_total,
    flame_losses_total = EXCLUDED.flame_losses_total, refills_total = EXCLUDED.refills_total,
    burner_hours_total = EXCLUDED.burner_hours_total;

-- name: health_watermark
SELECT through_day FROM health_watermark FOR UPDATE;

-- name: set_health_watermark
UPDATE health_watermark SET through_day = $1;

-- name: first_reading_since
SELECT min(ts) FROM readings WHERE ts >= $1;

-- name: try_health_lock
SELECT pg_try_advisory_xact_lock($1);

-- name: devices_with_days_after
-- Devices with feature rows newer than $1 (the daily detectors' cursor), up to day $2.
SELECT DISTINCT device_id FROM device_health_daily WHERE day > $1 AND day <= $2 ORDER BY device_id;

-- name: health_window
-- Feature rows of the devices in $1 from day $2 through day $3, in day order.
-- The device list is joined, not filtered with `= ANY($1)`: in the generic plan a prepared
-- statement gets after five runs, ANY over a parameter is a linear search per row (thousands of
-- devices times every row of the window), where a join looks each device up once.
SELECT h.* FROM unnest($1::text[]) AS wanted(device_id)
JOIN device_health_daily AS h ON h.device_id = wanted.device_id
WHERE h.day >= $2 AND h.day <= $3
ORDER BY h.device_id, h.day;

-- name: health_window_all
-- Every device's feature rows from day $1 through day $2, in device and day order.
SELECT * FROM device_health_daily WHERE day >= $1 AND day <= $2 ORDER BY device_id, day;

-- name: detector_cursor
SELECT through_day, through_ts FROM detector_cursor WHERE detector = $1 FOR UPDATE;

-- name: set_detector_cursor
INSERT INTO detector_cursor (detector, through_day, through_ts) VALUES ($1, $2, $3)
ON CONFLICT (detector) DO UPDATE SET through_day = EXCLUDED.through_day, through_ts = EXCLUDED.through_ts;

-- name: regional_outdoor
-- The median outdoor temperature each region's reporting devices measured in [$1, $2).
SELECT d.region, percentile_cont(0.5) WITHIN GROUP (ORDER BY r.outdoor_c) AS outdoor_c, count(*) AS samples
FROM readings AS r JOIN devices AS d ON d.device_id = r.device_id
WHERE r.ts >= $1 AND r.ts < $2 AND r.outdoor_c IS NOT NULL AND d.region IS NOT NULL
GROUP BY d.region;

-- name: silent_devices
-- Devices last heard between $1 and $2 (silent since), with their last report's values.
SELECT s.device_id, d.region, s.last_seen, s.last_reading_at,
       (SELECT row_to_json(r) FROM readings AS r
        WHERE r.device_id = s.device_id AND r.ts = s.last_reading_at LIMIT 1) AS last_reading
FROM device_state AS s JOIN devices AS d ON d.device_id = s.device_id
WHERE s.last_seen >= $1 AND s.last_seen < $2;

-- name: frost_devices
-- Devices whose outdoor sensor read $3 °C or colder in [$1, $2).
SELECT DISTINCT device_id FROM readings WHERE ts >= $1 AND ts < $2 AND outdoor_c <= $3;

-- name: frost_window
-- Central-heating firing samples of every device in [$1, $2), in device and time order. Not narrowed
-- to a list of devices here: the newest chunk, the one this reads, has no statistics yet for hours
-- after it starts, and the planner then joins a device list by comparing every sample with every
-- device; the caller keeps the devices it wants.
SELECT device_id, ts, fan_rpm, modulation_pct, ch_return_c, outdoor_c
FROM readings
WHERE ts >= $1 AND ts < $2 AND flame_on AND coalesce(dhw_flow_lpm, 0) = 0 AND modulation_pct > 0
ORDER BY device_id, ts;

-- name: fan_lines
-- Each device's fan line (fan speed against modulation) from its newest day before $2, within two
-- weeks: one primary-key probe per device of $1 (see health_window on why not `= ANY($1)`).
SELECT wanted.device_id, line.day, line.fan_intercept, line.fan_slope
FROM unnest($1::text[]) AS wanted(device_id)
CROSS JOIN LATERAL (
    SELECT h.day, h.fan_intercept, h.fan_slope FROM device_health_daily AS h
    WHERE h.device_id = wanted.device_id AND h.day < $2 AND h.day >= $2 - 14 AND h.fan_intercept IS NOT NULL
    ORDER BY h.day DESC LIMIT 1
) AS line;

-- name: stored_since
-- Readings and events stored with device time in [$1, $2] (an evaluation over MQTT waits for these).
SELECT (SELECT count(*) FROM readings WHERE ts >= $1 AND ts <= $2) AS readings,
       (SELECT count(*) FROM events WHERE ts >= $1 AND ts <= $2) AS events;
