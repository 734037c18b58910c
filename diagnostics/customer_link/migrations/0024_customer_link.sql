-- The customer's side of a case: the link in every alert, what the customer answered through it,
-- visits booked from it, the technicians who come, what they did and what it cost, and the happy call.

-- One link per case and contact (the number it was sent to). The token is never stored: it is
-- derived from the link id and its salt with the server's secret when a message is sent, and only
-- its SHA-256 is kept, so a copy of the database opens no page. A new salt (revoke and reissue)
-- makes a new token; the old one stops working.
CREATE TABLE customer_links (
    link_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES fault_cases ON DELETE CASCADE,
    device_id text NOT NULL REFERENCES devices ON DELETE CASCADE,
    phone text NOT NULL,
    language text NOT NULL DEFAULT 'ko' CHECK (language IN ('ko', 'en')),
    salt bytea NOT NULL,
    token_hash bytea UNIQUE,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    revoked_by text,
    opened_at timestamptz,
    opens integer NOT NULL DEFAULT 0,
    UNIQUE (case_id, phone)
);
CREATE INDEX customer_links_device ON customer_links (device_id);

-- Everything a customer did through a link, oldest first (append-only: the trigger below refuses
-- changes). kind: works_again, still_broken, consent, reset, booked, moved, survey.
CREATE TABLE customer_answers (
    answer_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    link_id bigint NOT NULL REFERENCES customer_links ON DELETE CASCADE,
    case_id bigint NOT NULL REFERENCES fault_cases ON DELETE CASCADE,
    ticket_id bigint REFERENCES tickets ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('works_again', 'still_broken', 'consent', 'reset', 'booked', 'moved', 'survey')),
    details jsonb NOT NULL DEFAULT '{}',
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX customer_answers_case ON customer_answers (case_id, answer_id);

CREATE FUNCTION customer_answers_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM fault_cases WHERE case_id = OLD.case_id) THEN
        RETURN OLD;  -- its case is being erased (the device was deleted)
    END IF;
    RAISE EXCEPTION 'customer_answers is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER customer_answers_append_only BEFORE UPDATE OR DELETE ON customer_answers
    FOR EACH ROW EXECUTE FUNCTION customer_answers_append_only();

-- The people who visit: a service point's technicians, with the name and photo the customer sees
-- before the visit (TOUCH).
CREATE TABLE technicians (
    technician_id text PRIMARY KEY CHECK (technician_id ~ '^[A-Za-z0-9_-]{1,64}$'),
    point_id text NOT NULL REFERENCES service_points ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    name_en text CHECK (name_en <> '' AND name_en !~ '[가-힣ㄱ-ㅎㅏ-ㅣ]'),
    photo_url text CHECK (photo_url ~ '^(https://|/)')
);
CREATE INDEX technicians_point ON technicians (point_id);

-- A repair visit: one service point, one day, one half-day window. A point's day holds
-- daily_capacity visits, shared by inspections booked that day and repairs; the rest is split
-- between the morning (09-13) and the afternoon (13-18). A ticket has at most one booked visit.
CREATE TABLE visit_bookings (
    booking_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id bigint NOT NULL REFERENCES tickets ON DELETE CASCADE,
    point_id text NOT NULL REFERENCES service_points,
    day date NOT NULL,
    slot text NOT NULL CHECK (slot IN ('am', 'pm')),
    technician_id text REFERENCES technicians ON DELETE SET NULL,
    status text NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'moved', 'cancelled', 'done')),
    booked_by text NOT NULL,
    booked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    ended_at timestamptz,
    reminded_day_before_at timestamptz,
    reminded_hour_before_at timestamptz
);
CREATE UNIQUE INDEX visit_bookings_one_booked ON visit_bookings (ticket_id) WHERE status = 'booked';
CREATE INDEX visit_bookings_point_day ON visit_bookings (point_id, day) WHERE status = 'booked';

-- What the technician did and what it cost, as they entered it; shown on the customer's page.
CREATE TABLE repair_reports (
    ticket_id bigint PRIMARY KEY REFERENCES tickets ON DELETE CASCADE,
    summary text NOT NULL CHECK (length(summary) BETWEEN 1 AND 2000),
    items jsonb NOT NULL,
    labour_won integer NOT NULL CHECK (labour_won >= 0),
    warranty_covered boolean NOT NULL,
    total_won integer NOT NULL CHECK (total_won >= 0),
    entered_by text NOT NULL,
    entered_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The happy call: one answer per ticket and contact. flagged: a low score or "not solved", which
-- reopened work for the call center.
CREATE TABLE customer_surveys (
    survey_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id bigint NOT NULL REFERENCES tickets ON DELETE CASCADE,
    link_id bigint NOT NULL REFERENCES customer_links ON DELETE CASCADE,
    score smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
    solved boolean NOT NULL,
    comment text NOT NULL DEFAULT '' CHECK (length(comment) <= 1000),
    flagged boolean NOT NULL,
    follow_up_ticket_id bigint REFERENCES tickets ON DELETE SET NULL,
    answered_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (ticket_id, link_id)
);

-- The customer said the boiler works again (the engine still watches the telemetry).
ALTER TABLE fault_cases ADD COLUMN customer_said_fixed_at timestamptz;

-- New alert kinds: the visit reminders (day before, hour before), the repair's result (to every
-- contact of the case, with the happy call).
ALTER TABLE customer_alerts
    DROP CONSTRAINT customer_alerts_kind_check,
    ADD CONSTRAINT customer_alerts_kind_check CHECK (kind IN
        ('guidance', 'safety', 'emergency', 'escalation', 'visit', 'inspection', 'inspection_offer',
         'visit_reminder', 'result'));
