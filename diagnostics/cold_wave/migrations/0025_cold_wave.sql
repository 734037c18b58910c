-- Cold-wave mode: the weather forecast per region, the cold-wave advisories it raises, the freeze
-- preparation sent ahead of them, and area incidents (one event for many boilers of a region failing
-- the same way at once: a gas-supply cut, a power cut, a wave of frozen condensate pipes).

-- Forecast temperatures per region, as issued (a later issue for the same hour supersedes, both kept).
-- kind: TMP (the hour), TMN (the day's minimum), TMX (the day's maximum). source: kma, file, sim.
CREATE TABLE weather_forecasts (
    region text NOT NULL REFERENCES regions (code),
    kind text NOT NULL CHECK (kind IN ('TMP', 'TMN', 'TMX')),
    valid_at timestamptz NOT NULL,
    issued_at timestamptz NOT NULL,
    temp_c double precision NOT NULL CHECK (temp_c BETWEEN -60 AND 60),
    source text NOT NULL CHECK (source IN ('kma', 'file', 'sim')),
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (region, kind, valid_at, issued_at)
);
CREATE INDEX weather_forecasts_valid ON weather_forecasts (valid_at);

-- One advisory per region and Korean day the forecast makes a cold-wave day: a minimum below the
-- threshold, or a drop of the minimum from the day before of at least the threshold.
CREATE TABLE cold_wave_advisories (
    advisory_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region text NOT NULL REFERENCES regions (code),
    day date NOT NULL,
    min_c double precision NOT NULL,
    drop_c double precision,
    reasons text[] NOT NULL CHECK (cardinality(reasons) > 0),
    issued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    prepared_at timestamptz,
    households integer,
    told integer,
    UNIQUE (region, day)
);

-- Freeze preparation: the household ranking at the advisory, one row per device (the evaluation reads
-- who was told before the cold, and who was not).
CREATE TABLE freeze_preparations (
    advisory_id bigint NOT NULL REFERENCES cold_wave_advisories ON DELETE CASCADE,
    device_id text NOT NULL REFERENCES devices ON DELETE CASCADE,
    risk double precision NOT NULL,
    risk_rank integer NOT NULL,
    reasons jsonb NOT NULL,
    told boolean NOT NULL,
    frost_protection text CHECK (frost_protection IN ('applied', 'offered')),
    PRIMARY KEY (advisory_id, device_id)
);

-- Area incidents. status: open (devices still joining or failing), resolved (the cause was fixed;
-- devices whose fault stayed got their own tickets).
CREATE TABLE area_incidents (
    incident_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region text NOT NULL REFERENCES regions (code),
    family text NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    first_fault_at timestamptz NOT NULL,
    opened_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    resolved_at timestamptz,
    owner text,
    devices integer NOT NULL DEFAULT 0,
    cleared integer NOT NULL DEFAULT 0,
    ticketed integer NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX area_incidents_one_open ON area_incidents (region, family) WHERE status = 'open';

CREATE TABLE incident_devices (
    incident_id bigint NOT NULL REFERENCES area_incidents ON DELETE CASCADE,
    device_id text NOT NULL REFERENCES devices ON DELETE CASCADE,
    case_id bigint NOT NULL REFERENCES fault_cases,
    code text NOT NULL,
    joined_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    cleared_at timestamptz,
    ticket_id bigint REFERENCES tickets,
    PRIMARY KEY (incident_id, device_id)
);
CREATE INDEX incident_devices_case ON incident_devices (case_id);

-- What happened to an incident, oldest first: opened, joined (counted, not one row per device),
-- owner, note, resolved, ticketed.
CREATE TABLE incident_timeline (
    entry_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES area_incidents ON DELETE CASCADE,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor text NOT NULL,
    action text NOT NULL,
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 2000)
);
CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, entry_id);

-- A fault case held by an area incident: no alert or ticket of its own while the incident lasts.
ALTER TABLE fault_cases DROP CONSTRAINT fault_cases_status_check,
    ADD CONSTRAINT fault_cases_status_check
        CHECK (status IN ('guidance', 'informed', 'ticketed', 'resolved_by_customer', 'closed', 'incident'));
-- What the incident check reads on every raise that would open a case: the family's recent cases.
CREATE INDEX fault_cases_family_raised ON fault_cases (family, first_raised_at);
DROP INDEX fault_cases_one_active;
CREATE UNIQUE INDEX fault_cases_one_active ON fault_cases (device_id, family)
    WHERE status IN ('guidance', 'informed', 'ticketed', 'incident');

-- New alert kinds: freeze preparation before a cold wave, and the incident's broadcast (opened,
-- resolved) to the households it holds.
ALTER TABLE customer_alerts
    DROP CONSTRAINT customer_alerts_kind_check,
    ADD CONSTRAINT customer_alerts_kind_check CHECK (kind IN
        ('guidance', 'safety', 'emergency', 'escalation', 'visit', 'inspection', 'inspection_offer',
         'visit_reminder', 'result', 'freeze_prep', 'incident', 'incident_resolved'));
ALTER TABLE customer_alerts ADD COLUMN incident_id bigint REFERENCES area_incidents;

-- Inbound calls as the call center's system reports them (POST /v1/calls): the history the call-volume
-- forecast learns its weekday and monthly patterns and its cold effect from.
CREATE TABLE inbound_calls (
    call_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL,
    region text REFERENCES regions (code),
    device_id text REFERENCES devices ON DELETE SET NULL,
    reason text NOT NULL DEFAULT '' CHECK (length(reason) <= 200),
    external_id text UNIQUE CHECK (length(external_id) <= 100),
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX inbound_calls_region_at ON inbound_calls (region, at);
