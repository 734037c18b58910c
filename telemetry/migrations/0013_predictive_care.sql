-- Predictive care: daily health features per device, the predictions the trend detectors make, and
-- the detectors' cursor.

-- One row per device and Korean calendar day, computed by the store from that day's raw readings once
-- the day is over. The detectors read a few weeks of these rows instead of rescanning raw history.
-- Values "at 50" come from a least-squares line over the day's central-heating firing samples
-- (modulation as x), so that a trend is not mistaken for a change in load; they are null when the day
-- had too few such samples or too little spread in modulation for the line to mean anything.
CREATE TABLE device_health_daily (
    device_id text NOT NULL,
    day date NOT NULL,
    samples integer NOT NULL,
    firing integer NOT NULL,
    outdoor_min double precision,
    outdoor_avg double precision,
    flame_ua_p50 double precision,
    fan_intercept double precision,
    fan_slope double precision,
    fan_at50 double precision,
    approach_at50 double precision,
    spread_at50 double precision,
    pressure_at40 double precision,
    pressure_min double precision,
    starts_total bigint,
    failed_total bigint,
    flame_losses_total bigint,
    refills_total bigint,
    burner_hours_total double precision,
    PRIMARY KEY (device_id, day)
);
CREATE INDEX device_health_daily_day ON device_health_daily (day);

-- The last day whose features are complete (one row).
CREATE TABLE health_watermark (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    through_day date
);
INSERT INTO health_watermark (through_day) VALUES (NULL);

-- What a detector saw, and what became of it: open until the hard fault it predicted arrives
-- (confirmed, with the lead time) or the case is closed. One open prediction per device and family.
CREATE TABLE predictions (
    prediction_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id text NOT NULL REFERENCES devices ON DELETE CASCADE,
    code text NOT NULL CHECK (code ~ '^A[0-9]{2}$'),
    family text NOT NULL,
    detector text NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'closed')),
    predicted_at timestamptz NOT NULL,
    eta timestamptz,
    evidence jsonb NOT NULL,
    case_id bigint REFERENCES fault_cases,
    ticket_id bigint REFERENCES tickets,
    confirmed_code text,
    confirmed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX predictions_one_open ON predictions (device_id, family) WHERE status = 'open';
CREATE INDEX predictions_device ON predictions (device_id, predicted_at DESC);

-- How far each detector has read (a day for the daily detectors, a time for the frost watch).
CREATE TABLE detector_cursor (
    detector text PRIMARY KEY,
    through_day date,
    through_ts timestamptz
);
