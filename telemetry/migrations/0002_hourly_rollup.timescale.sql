-- Hourly rollup as a continuous aggregate (Timescale-licensed edition), with the same columns as
-- the project's own rollup table so that every query reads both alike.

CREATE MATERIALIZED VIEW readings_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT device_id, time_bucket(INTERVAL '1 hour', ts) AS bucket, count(*)::integer AS n,
    sum(ch_flow_c) AS ch_flow_c_sum, count(ch_flow_c)::integer AS ch_flow_c_cnt, min(ch_flow_c) AS ch_flow_c_min, max(ch_flow_c) AS ch_flow_c_max,
    sum(ch_return_c) AS ch_return_c_sum, count(ch_return_c)::integer AS ch_return_c_cnt, min(ch_return_c) AS ch_return_c_min, max(ch_return_c) AS ch_return_c_max,
    sum(ch_setpoint_c) AS ch_setpoint_c_sum, count(ch_setpoint_c)::integer AS ch_setpoint_c_cnt, min(ch_setpoint_c) AS ch_setpoint_c_min, max(ch_setpoint_c) AS ch_setpoint_c_max,
    sum(dhw_c) AS dhw_c_sum, count(dhw_c)::integer AS dhw_c_cnt, min(dhw_c) AS dhw_c_min, max(dhw_c) AS dhw_c_max,
    sum(dhw_setpoint_c) AS dhw_setpoint_c_sum, count(dhw_setpoint_c)::integer AS dhw_setpoint_c_cnt, min(dhw_setpoint_c) AS dhw_setpoint_c_min, max(dhw_setpoint_c) AS dhw_setpoint_c_max,
    sum(outdoor_c) AS outdoor_c_sum, count(outdoor_c)::integer AS outdoor_c_cnt, min(outdoor_c) AS outdoor_c_min, max(outdoor_c) AS outdoor_c_max,
    sum(room_c) AS room_c_sum, count(room_c)::integer AS room_c_cnt, min(room_c) AS room_c_min, max(room_c) AS room_c_max,
    sum(room_setpoint_c) AS room_setpoint_c_sum, count(room_setpoint_c)::integer AS room_setpoint_c_cnt, min(room_setpoint_c) AS room_setpoint_c_min, max(room_setpoint_c) AS room_setpoint_c_max,
    sum(flue_c) AS flue_c_sum, count(flue_c)::integer AS flue_c_cnt, min(flue_c) AS flue_c_min, max(flue_c) AS flue_c_max,
    sum(ch_pressure_bar) AS ch_pressure_bar_sum, count(ch_pressure_bar)::integer AS ch_pressure_bar_cnt, min(ch_pressure_bar) AS ch_pressure_bar_min, max(ch_pressure_bar) AS ch_pressure_bar_max,
    sum(auto_refill_count) AS auto_refill_count_sum, count(auto_refill_count)::integer AS auto_refill_count_cnt, min(auto_refill_count) AS auto_refill_count_min, max(auto_refill_count) AS auto_refill_count_max,
    sum(modulation_pct) AS modulation_pct_sum, count(modulation_pct)::integer AS modulation_pct_cnt, min(modulation_pct) AS modulation_pct_min, max(modulation_pct) AS modulation_pct_max,
    sum(flame_current_ua) AS flame_current_ua_sum, count(flame_current_ua)::integer AS flame_current_ua_cnt, min(flame_current_ua) AS flame_current_ua_min, max(flame_current_ua) AS flame_current_ua_max,
    sum(fan_rpm) AS fan_rpm_sum, count(fan_rpm)::integer AS fan_rpm_cnt, min(fan_rpm) AS fan_rpm_min, max(fan_rpm) AS fan_rpm_max,
    sum(burner_starts) AS burner_starts_sum, count(burner_starts)::integer AS burner_starts_cnt, min(burner_starts) AS burner_starts_min, max(burner_starts) AS burner_starts_max,
    sum(failed_starts) AS failed_starts_sum, count(failed_starts)::integer AS failed_starts_cnt, min(failed_starts) AS failed_starts_min, max(failed_starts) AS failed_starts_max,
    sum(flame_loss_count) AS flame_loss_count_sum, count(flame_loss_count)::integer AS flame_loss_count_cnt, min(flame_loss_count) AS flame_loss_count_min, max(flame_loss_count) AS flame_loss_count_max,
    sum(burner_hours) AS burner_hours_sum, count(burner_hours)::integer AS burner_hours_cnt, min(burner_hours) AS burner_hours_min, max(burner_hours) AS burner_hours_max,
    sum(dhw_flow_lpm) AS dhw_flow_lpm_sum, count(dhw_flow_lpm)::integer AS dhw_flow_lpm_cnt, min(dhw_flow_lpm) AS dhw_flow_lpm_min, max(dhw_flow_lpm) AS dhw_flow_lpm_max,
    sum(gas_total_m3) AS gas_total_m3_sum, count(gas_total_m3)::integer AS gas_total_m3_cnt, min(gas_total_m3) AS gas_total_m3_min, max(gas_total_m3) AS gas_total_m3_max
FROM readings
GROUP BY device_id, time_bucket(INTERVAL '1 hour', ts)
WITH NO DATA;

CREATE TABLE rollup_watermark (
    rollup text PRIMARY KEY,
    watermark timestamptz NOT NULL
);
-- Real-time aggregation answers for the whole range: no raw tail is read separately.
INSERT INTO rollup_watermark VALUES ('readings_hourly', 'infinity');

CREATE TABLE rollup_invalidation (
    invalidation_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rollup text NOT NULL,
    low timestamptz NOT NULL,
    high timestamptz NOT NULL
);

-- The server keeps the aggregate current (the last 7 days, every 15 minutes; older hours stay
-- materialised when raw chunks are dropped) and compresses raw readings after 7 days.
SELECT add_continuous_aggregate_policy('readings_hourly',
    start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '15 minutes');
ALTER TABLE readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_id',
                          timescaledb.compress_orderby = 'ts DESC, seq DESC');
SELECT add_compression_policy('readings', INTERVAL '7 days');
