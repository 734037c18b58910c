-- Device registry, raw time series (hypertables), per-device state and the quarantine.

CREATE EXTENSION IF NOT EXISTS timescaledb;

CREATE TABLE devices (
    device_id text PRIMARY KEY CHECK (device_id ~ '^[A-Za-z0-9_-]{1,64}$'),
    model text NOT NULL CHECK (length(model) BETWEEN 1 AND 64),
    serial text NOT NULL CHECK (length(serial) BETWEEN 1 AND 64),
    installed_on date,
    address text,
    region text,
    latitude double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision CHECK (longitude BETWEEN -180 AND 180),
    customer_name text,
    report_interval_s integer NOT NULL DEFAULT 60 CHECK (report_interval_s BETWEEN 1 AND 86400),
    registered_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX devices_model_serial ON devices (model, serial);
CREATE INDEX devices_region ON devices (region);

CREATE TABLE device_contacts (
    contact_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id text NOT NULL REFERENCES devices ON DELETE CASCADE,
    name text NOT NULL,
    phone text NOT NULL CHECK (phone ~ '^\+?[0-9]{6,16}$'),
    role text NOT NULL CHECK (role IN ('owner', 'family')),
    preferred_channel text NOT NULL DEFAULT 'sms' CHECK (preferred_channel IN ('sms', 'kakao')),
    UNIQUE (device_id, phone)
);
CREATE INDEX device_contacts_phone ON device_contacts (phone);

-- One row per telemetry report. The primary key includes the time column (a hypertable requirement)
-- and the device's sequence number, so a redelivered message can never make a second row.
CREATE TABLE readings (
    device_id text NOT NULL,
    ts timestamptz NOT NULL,
    seq bigint NOT NULL,
    received_at timestamptz NOT NULL,
    ch_flow_c double precision,
    ch_return_c double precision,
    ch_setpoint_c double precision,
    dhw_c double precision,
    dhw_setpoint_c double precision,
    outdoor_c double precision,
    room_c double precision,
    room_setpoint_c double precision,
    flue_c double precision,
    ch_pressure_bar double precision,
    auto_refill_count bigint,
    modulation_pct double precision,
    flame_current_ua double precision,
    fan_rpm double precision,
    burner_starts bigint,
    failed_starts bigint,
    flame_loss_count bigint,
    burner_hours double precision,
    dhw_flow_lpm double precision,
    gas_total_m3 double precision,
    water_level_low boolean,
    flame_on boolean,
    mode text,
    extra jsonb,
    PRIMARY KEY (device_id, ts, seq)
);
SELECT create_hypertable('readings', by_range('ts', INTERVAL '1 day'));

CREATE TABLE events (
    device_id text NOT NULL,
    ts timestamptz NOT NULL,
    seq bigint NOT NULL,
    received_at timestamptz NOT NULL,
    code text NOT NULL,
    state text NOT NULL CHECK (state IN ('raised', 'cleared')),
    PRIMARY KEY (device_id, ts, seq)
);
SELECT create_hypertable('events', by_range('ts', INTERVAL '7 days'));
CREATE INDEX events_code_ts ON events (code, ts DESC);

-- Latest known state per device, upserted in the same transaction as the rows that change it.
CREATE TABLE device_state (
    device_id text PRIMARY KEY REFERENCES devices ON DELETE CASCADE,
    last_seen timestamptz,
    last_reading_at timestamptz,
    last_seq bigint,
    latest jsonb,
    connected boolean,
    connected_changed_at timestamptz,
    reported_model text,
    firmware text
);

-- Whether each error code is active on each device; ordered by device time so that a late,
-- redelivered "raised" never reopens a fault that a newer "cleared" closed.
CREATE TABLE device_faults (
    device_id text NOT NULL REFERENCES devices ON DELETE CASCADE,
    code text NOT NULL,
    active boolean NOT NULL,
    raised_at timestamptz,
    changed_at timestamptz NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (device_id, code)
);
CREATE INDEX device_faults_active ON device_faults (device_id) WHERE active;

-- Everything the gateway could not accept, with the raw payload and why. Identical payloads on the
-- same topic count occurrences instead of piling up rows. Topic and payload are kept truncated; their
-- hashes (of the whole) make the key, so no input is too large to be quarantined.
CREATE TABLE quarantine (
    quarantine_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic text NOT NULL,
    topic_sha256 bytea NOT NULL,
    device_id text,
    reason text NOT NULL,
    detail text NOT NULL,
    payload bytea NOT NULL,
    payload_size integer NOT NULL,
    payload_sha256 bytea NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen timestamptz NOT NULL,
    occurrences integer NOT NULL DEFAULT 1,
    UNIQUE (topic_sha256, payload_sha256)
);
CREATE INDEX quarantine_last_seen ON quarantine (last_seen DESC);
CREATE INDEX quarantine_reason ON quarantine (reason, last_seen DESC);
