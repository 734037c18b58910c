-- Pre-season before-service (B/S) inspections: one campaign per heating season, the planned
-- inspection of each boiler chosen, every answer and visit, and the counters an inspection resets.

-- vulnerable: an elderly person living alone; their boiler ranks higher.
-- inspected_*: the burner counters as they stood at the last inspection ("since the last
-- inspection" is the newest total minus these); NULL: never inspected, count from installation.
ALTER TABLE devices
    ADD COLUMN vulnerable boolean NOT NULL DEFAULT false,
    ADD COLUMN last_inspected_on date,
    ADD COLUMN inspected_burner_hours double precision CHECK (inspected_burner_hours >= 0),
    ADD COLUMN inspected_starts bigint CHECK (inspected_starts >= 0);

-- Inspection visits a point can make per day in the campaign window; NULL: a third of its daily
-- repair capacity (pre-season, repairs leave that much room).
ALTER TABLE service_points
    ADD COLUMN inspection_slots integer CHECK (inspection_slots >= 0);

CREATE TABLE campaigns (
    campaign_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    season integer NOT NULL UNIQUE CHECK (season BETWEEN 2000 AND 2100),
    first_day date NOT NULL,
    last_day date NOT NULL CHECK (last_day >= first_day),
    weekdays smallint[] NOT NULL CHECK (cardinality(weekdays) BETWEEN 1 AND 7 AND weekdays <@ '{0,1,2,3,4,5,6}'),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- The last plan run, and the last one that changed something.
    planned_at timestamptz NOT NULL,
    changed_at timestamptz NOT NULL,
    plan_runs integer NOT NULL DEFAULT 1,
    considered integer NOT NULL DEFAULT 0,
    over_capacity integer NOT NULL DEFAULT 0,
    without_point integer NOT NULL DEFAULT 0
);

-- status:
--   proposed     planned, the customer has not answered (the day may still move until reminded)
--   accepted     the customer accepted the proposed day
--   rescheduled  the customer chose another day
--   declined     the customer does not want it this season
--   completed    a technician inspected the boiler
--   withdrawn    no longer selected before anyone was told (its risk fell)
--   lapsed       the day passed without an answer
CREATE TABLE inspections (
    inspection_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id bigint NOT NULL REFERENCES campaigns ON DELETE CASCADE,
    device_id text NOT NULL REFERENCES devices ON DELETE CASCADE,
    point_id text NOT NULL REFERENCES service_points,
    day date NOT NULL,
    score double precision NOT NULL,
    risk_rank integer NOT NULL,
    reasons jsonb NOT NULL,
    status text NOT NULL DEFAULT 'proposed' CHECK (status IN
        ('proposed', 'accepted', 'rescheduled', 'declined', 'completed', 'withdrawn', 'lapsed')),
    reminders smallint NOT NULL DEFAULT 0,
    reminded_at timestamptz,
    followed_up_at timestamptz,
    answered_at timestamptz,
    completed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (campaign_id, device_id)
);
CREATE INDEX inspections_point_day ON inspections (campaign_id, point_id, day);
CREATE INDEX inspections_campaign_status ON inspections (campaign_id, status, day);
CREATE INDEX inspections_device ON inspections (device_id);

-- Everything that happened to an inspection, oldest first: planned, moved, reminded, followed_up,
-- accepted, rescheduled, declined, completed, withdrawn, lapsed.
CREATE TABLE inspection_history (
    history_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inspection_id bigint NOT NULL REFERENCES inspections ON DELETE CASCADE,
    action text NOT NULL,
    day date,
    actor text NOT NULL,
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX inspection_history_inspection ON inspection_history (inspection_id, history_id);

-- Reminders are customer alerts. 'inspection': the boiler showed a fault or a predicted one, so the
-- reminder is a service notice about it; 'inspection_offer': an inspection offered for age, use or
-- time, which is advertising: sent only to contacts who consented to marketing, by SMS (Alimtalk
-- carries no advertising). Neither goes out between 21:00 and 08:00 Korean time.
ALTER TABLE customer_alerts
    ADD COLUMN inspection_id bigint REFERENCES inspections ON DELETE CASCADE,
    DROP CONSTRAINT customer_alerts_kind_check,
    ADD CONSTRAINT customer_alerts_kind_check CHECK (kind IN
        ('guidance', 'safety', 'emergency', 'escalation', 'visit', 'inspection', 'inspection_offer'));
-- One reminder per inspection, contact and wave (0: the reminder, 1: the follow-up), however often
-- the job runs.
CREATE UNIQUE INDEX customer_alerts_inspection_once ON customer_alerts (inspection_id, contact_id, wave)
    WHERE inspection_id IS NOT NULL;

-- Every change of an inspection leaves a line in its history and an event for the call center:
-- recorded for a set of inspections at once (a plan writes tens of thousands). Returns how many.
CREATE FUNCTION inspections_changed(ids bigint[], action text, actor text, note text) RETURNS integer
LANGUAGE sql VOLATILE AS $$
    INSERT INTO inspection_history (inspection_id, action, day, actor, note)
    SELECT i.inspection_id, action, i.day, actor, note
    FROM inspections AS i WHERE i.inspection_id = ANY (ids) ORDER BY i.inspection_id;
    INSERT INTO outbox_events (event_type, subject, payload)
    SELECT CASE WHEN action = 'planned' THEN 'inspection.planned' ELSE 'inspection.updated' END,
           'inspection/' || i.inspection_id,
           jsonb_build_object(
               'inspection_id', i.inspection_id, 'campaign_id', i.campaign_id, 'season', c.season,
               'device_id', i.device_id, 'service_point_id', i.point_id, 'day', i.day, 'status', i.status,
               'score', i.score, 'risk_rank', i.risk_rank, 'reasons', i.reasons, 'reminders', i.reminders,
               'action', action, 'vulnerable', d.vulnerable, 'region', d.region)
    FROM inspections AS i
    JOIN campaigns AS c ON c.campaign_id = i.campaign_id
    JOIN devices AS d ON d.device_id = i.device_id
    WHERE i.inspection_id = ANY (ids)
    ORDER BY i.inspection_id;
    SELECT cardinality(ids);
$$;
