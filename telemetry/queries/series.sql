-- Named queries of bucketed telemetry for one device. Both bucket queries return the same columns:
-- n (readings in the bucket) and, per numeric field of telemetry.series.NUMERIC_FIELDS,
-- <field>_sum, <field>_cnt, <field>_min and <field>_max, i.e. partial aggregates that combine exactly.

-- name: rollup_split
-- The readings_hourly watermark clamped into [$1, $2]: hours before it are complete in the rollup.
SELECT least(greatest(watermark, $1::timestamptz), $2::timestamptz)
FROM rollup_watermark
WHERE rollup = 'readings_hourly';

-- name: raw_buckets
-- $1 device_id, readings with $2 <= ts < $3, in buckets of width $4.
SELECT time_bucket($4::interval, ts) AS bucket_start, count(*) AS n,
    sum(ch_flow_c)::float8 AS ch_flow_c_sum, count(ch_flow_c) AS ch_flow_c_cnt, min(ch_flow_c)::float8 AS ch_flow_c_min, max(ch_flow_c)::float8 AS ch_flow_c_max,
    sum(ch_return_c)::float8 AS ch_return_c_sum, count(ch_return_c) AS ch_return_c_cnt, min(ch_return_c)::float8 AS ch_return_c_min, max(ch_return_c)::float8 AS ch_return_c_max,
    sum(ch_setpoint_c)::float8 AS ch_setpoint_c_sum, count(ch_setpoint_c) AS ch_setpoint_c_cnt, min(ch_setpoint_c)::float8 AS ch_setpoint_c_min, max(ch_setpoint_c)::float8 AS ch_setpoint_c_max,
    sum(dhw_c)::float8 AS dhw_c_sum, count(dhw_c) AS dhw_c_cnt, min(dhw_c)::float8 AS dhw_c_min, max(dhw_c)::float8 AS dhw_c_max,
    sum(dhw_setpoint_c)::float8 AS dhw_setpoint_c_sum, count(dhw_setpoint_c) AS dhw_setpoint_c_cnt, min(dhw_setpoint_c)::float8 AS dhw_setpoint_c_min, max(dhw_setpoint_c)::float8 AS dhw_setpoint_c_max,
    sum(outdoor_c)::float8 AS outdoor_c_sum, count(outdoor_c) AS outdoor_c_cnt, min(outdoor_c)::float8 AS outdoor_c_min, max(outdoor_c)::float8 AS outdoor_c_max,
    sum(room_c)::float8 AS room_c_sum, count(room_c) AS room_c_cnt, min(room_c)::float8 AS room_c_min, max(room_c)::float8 AS room_c_max,
    sum(room_setpoint_c)::float8 AS room_setpoint_c_sum, count(room_setpoint_c) AS room_setpoint_c_cnt, min(room_setpoint_c)::float8 AS room_setpoint_c_min, max(room_setpoint_c)::float8 AS room_setpoint_c_max,
    sum(flue_c)::float8 AS flue_c_sum, count(flue_c) AS flue_c_cnt, min(flue_c)::float8 AS flue_c_min, max(flue_c)::float8 AS flue_c_max,
    sum(ch_pressure_bar)::float8 AS ch_pressure_bar_sum, count(ch_pressure_bar) AS ch_pressure_bar_cnt, min(ch_pressure_bar)::float8 AS ch_pressure_bar_min, max(ch_pressure_bar)::float8 AS ch_pressure_bar_max,
    sum(auto_refill_count)::float8 AS auto_refill_count_sum, count(auto_refill_count) AS auto_refill_count_cnt, min(auto_refill_count)::float8 AS auto_refill_count_min, max(auto_refill_count)::float8 AS auto_refill_count_max,
    sum(modulation_pct)::float8 AS modulation_pct_sum, count(modulation_pct) AS modulation_pct_cnt, min(modulation_pct)::float8 AS modulation_pct_min, max(modulation_pct)::float8 AS modulation_pct_max,
    sum(flame_current_ua)::float8 AS flame_current_ua_sum, count(flame_current_ua) AS flame_current_ua_cnt, min(flame_current_ua)::float8 AS flame_current_ua_min, max(flame_current_ua)::float8 AS flame_current_ua_max,
    sum(fan_rpm)::float8 AS fan_rpm_sum, count(fan_rpm) AS fan_rpm_cnt, min(fan_rpm)::float8 AS fan_rpm_min, max(fan_rpm)::float8 AS fan_rpm_max,
    sum(burner_starts)::float8 AS burner_starts_sum, count(burner_starts) AS burner_starts_cnt, min(burner_starts)::float8 AS burner_starts_min, max(burner_starts)::float8 AS burner_starts_max,
    sum(failed_starts)::float8 AS failed_starts_sum, count(failed_starts) AS failed_starts_cnt, min(failed_starts)::float8 AS failed_starts_min, max(failed_starts)::float8 AS failed_starts_max,
    sum(flame_loss_count)::float8 AS flame_loss_count_sum, count(flame_loss_count) AS flame_loss_count_cnt, min(flame_loss_count)::float8 AS flame_loss_count_min, max(flame_loss_count)::float8 AS flame_loss_count_max,
    sum(burner_hours)::float8 AS burner_hours_sum, count(burner_hours) AS burner_hours_cnt, min(burner_hours)::float8 AS burner_hours_min, max(burner_hours)::float8 AS burner_hours_max,
    sum(dhw_flow_lpm)::float8 AS dhw_flow_lpm_sum, count(dhw_flow_lpm) AS dhw_flow_lpm_cnt, min(dhw_flow_lpm)::float8 AS dhw_flow_lpm_min, max(dhw_flow_lpm)::float8 AS dhw_flow_lpm_max,
    sum(gas_total_m3)::float8 AS gas_total_m3_sum, count(gas_total_m3) AS gas_total_m3_cnt, min(gas_total_m3)::float8 AS gas_total_m3_min, max(gas_total_m3)::float8 AS gas_total_m3_max
FROM readings
WHERE device_id = $1 AND ts >= $2 AND ts < $3
GROUP BY 1
ORDER BY 1;

-- name: rollup_buckets
-- $1 device_id, hourly rows with $2 <= bucket < $3 (whole hours), in buckets of width $4 (whole hours).
SELECT time_bucket($4::interval, bucket) AS bucket_start, sum(n)::bigint AS n,
    sum(ch_flow_c_sum)::float8 AS ch_flow_c_sum, sum(ch_flow_c_cnt)::bigint AS ch_flow_c_cnt, min(ch_flow_c_min) AS ch_flow_c_min, max(ch_flow_c_max) AS ch_flow_c_max,
    sum(ch_return_c_sum)::float8 AS ch_return_c_sum, sum(ch_return_c_cnt)::bigint AS ch_return_c_cnt, min(ch_return_c_min) AS ch_return_c_min, max(ch_return_c_max) AS ch_return_c_max,
    sum(ch_setpoint_c_sum)::float8 AS ch_setpoint_c_sum, sum(ch_setpoint_c_cnt)::bigint AS ch_setpoint_c_cnt, min(ch_setpoint_c_min) AS ch_setpoint_c_min, max(ch_setpoint_c_max) AS ch_setpoint_c_max,
    sum(dhw_c_sum)::float8 AS dhw_c_sum, sum(dhw_c_cnt)::bigint AS dhw_c_cnt, min(dhw_c_min) AS dhw_c_min, max(dhw_c_max) AS dhw_c_max,
    sum(dhw_setpoint_c_sum)::float8 AS dhw_setpoint_c_sum, sum(dhw_setpoint_c_cnt)::bigint AS dhw_setpoint_c_cnt, min(dhw_setpoint_c_min) AS dhw_setpoint_c_min, max(dhw_setpoint_c_max) AS dhw_setpoint_c_max,
    sum(outdoor_c_sum)::float8 AS outdoor_c_sum, sum(outdoor_c_cnt)::bigint AS outdoor_c_cnt, min(outdoor_c_min) AS outdoor_c_min, max(outdoor_c_max) AS outdoor_c_max,
    sum(room_c_sum)::float8 AS room_c_sum, sum(room_c_cnt)::bigint AS room_c_cnt, min(room_c_min) AS room_c_min, max(room_c_max) AS room_c_max,
    sum(room_setpoint_c_sum)::float8 AS room_setpoint_c_sum, sum(room_setpoint_c_cnt)::bigint AS room_setpoint_c_cnt, min(room_setpoint_c_min) AS room_setpoint_c_min, max(room_setpoint_c_max) AS room_setpoint_c_max,
    sum(flue_c_sum)::float8 AS flue_c_sum, sum(flue_c_cnt)::bigint AS flue_c_cnt, min(flue_c_min) AS flue_c_min, max(flue_c_max) AS flue_c_max,
    sum(ch_pressure_bar_sum)::float8 AS ch_pressure_bar_sum, sum(ch_pressure_bar_cnt)::bigint AS ch_pressure_bar_cnt, min(ch_pressure_bar_min) AS ch_pressure_bar_min, max(ch_pressure_bar_max) AS ch_pressure_bar_max,
    sum(auto_refill_count_sum)::float8 AS auto_refill_count_sum, sum(auto_refill_count_cnt)::bigint AS auto_refill_count_cnt, min(auto_refill_count_min) AS auto_refill_count_min, max(auto_refill_count_max) AS auto_refill_count_max,
    sum(modulation_pct_sum)::float8 AS modulation_pct_sum, sum(modulation_pct_cnt)::bigint AS modulation_pct_cnt, min(modulation_pct_min) AS modulation_pct_min, max(modulation_pct_max) AS modulation_pct_max,
    sum(flame_current_ua_sum)::float8 AS flame_current_ua_sum, sum(flame_current_ua_cnt)::bigint AS flame_current_ua_cnt, min(flame_current_ua_min) AS flame_current_ua_min, max(flame_current_ua_max) AS flame_current_ua_max,
    sum(fan_rpm_sum)::float8 AS fan_rpm_sum, sum(fan_rpm_cnt)::bigint AS fan_rpm_cnt, min(fan_rpm_min) AS fan_rpm_min, max(fan_rpm_max) AS fan_rpm_max,
    sum(burner_starts_sum)::float8 AS burner_starts_sum, sum(burner_starts_cnt)::bigint AS burner_starts_cnt, min(burner_starts_min) AS burner_starts_min, max(burner_starts_max) AS burner_starts_max,
    sum(failed_starts_sum)::float8 AS failed_starts_sum, sum(failed_starts_cnt)::bigint AS failed_starts_cnt, min(failed_starts_min) AS failed_starts_min, max(failed_starts_max) AS failed_starts_max,
    sum(flame_loss_count_sum)::float8 AS flame_loss_count_sum, sum(flame_loss_count_cnt)::bigint AS flame_loss_count_cnt, min(flame_loss_count_min) AS flame_loss_count_min, max(flame_loss_count_max) AS flame_loss_count_max,
    sum(burner_hours_sum)::float8 AS burner_hours_sum, sum(burner_hours_cnt)::bigint AS burner_hours_cnt, min(burner_hours_min) AS burner_hours_min, max(burner_hours_max) AS burner_hours_max,
    sum(dhw_flow_lpm_sum)::float8 AS dhw_flow_lpm_sum, sum(dhw_flow_lpm_cnt)::bigint AS dhw_flow_lpm_cnt, min(dhw_flow_lpm_min) AS dhw_flow_lpm_min, max(dhw_flow_lpm_max) AS dhw_flow_lpm_max,
    sum(gas_total_m3_sum)::float8 AS gas_total_m3_sum, sum(gas_total_m3_cnt)::bigint AS gas_total_m3_cnt, min(gas_total_m3_min) AS gas_total_m3_min, max(gas_total_m3_max) AS gas_total_m3_max
FROM readings_hourly
WHERE device_id = $1 AND bucket >= $2 AND bucket < $3
GROUP BY 1
ORDER BY 1;
