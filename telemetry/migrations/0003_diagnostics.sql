-- Diagnostics: the event inbox the worker consumes, service points, warranty terms, fault cases,
-- A/S tickets with their audit trail, and the outboxes for call-center events and customer alerts.

-- Events waiting for the diagnostics engine, written by the gateway in the same transaction as the
-- event itself (only when the event is new, so redeliveries never queue twice). A worker deletes
-- rows in the transaction that applies their effects: a killed worker leaves them queued.
-- Lanes partition devices so that several workers can run while each device's events stay in order.
CREATE TABLE event_inbox (
    inbox_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lane smallint NOT NULL GENERATED ALWAYS AS (abs(hashtext(device_id) % 16)) STORED,
    device_id text NOT NULL,
    ts timestamptz NOT NULL,
    seq bigint NOT NULL,
    code text NOT NULL,
    state text NOT NULL,
    received_at timestamptz NOT NULL
);
CREATE INDEX event_inbox_lane ON event_inbox (lane, inbox_id);

-- Events the engine could not handle (a bug or a registry change), kept with the error instead of
-- blocking the lane.
CREATE TABLE diagnostic_failures (
    failure_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id text NOT NULL,
    ts timestamptz NOT NULL,
    seq bigint NOT NULL,
    code text NOT NULL,
    state text NOT NULL,
    error text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE service_points (
    point_id text PRIMARY KEY,
    name text NOT NULL,
    city text NOT NULL,
    region text NOT NULL,
    latitude double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    coverage_km double precision NOT NULL CHECK (coverage_km > 0),
    daily_capacity integer NOT NULL CHECK (daily_capacity > 0)
);
CREATE INDEX service_points_region ON service_points (region);

-- Warranty length per model; models not listed get the configured default (3 years).
CREATE TABLE model_warranty (
    model text PRIMARY KEY,
    years integer NOT NULL CHECK (years BETWEEN 0 AND 30)
);

-- One fault episode per device and fault family: guidance first, then perhaps a ticket.
CREATE TABLE fault_cases (
    case_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id text NOT NULL REFERENCES devices ON DELETE CASCADE,
    family text NOT NULL,
    code text NOT NULL,
    status text NOT NULL CHECK (status IN ('guidance', 'informed', 'ticketed', 'resolved_by_customer', 'closed')),
    raises integer NOT NULL DEFAULT 1,
    first_raised_at timestamptz NOT NULL,
    last_raised_at timestamptz NOT NULL,
    last_cleared_at timestamptz,
    guidance_deadline timestamptz,
    ticket_id bigint,
    rule text NOT NULL,
    opened_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    closed_at timestamptz
);
CREATE UNIQUE INDEX fault_cases_one_active ON fault_cases (device_id, family)
    WHERE status IN ('guidance', 'informed', 'ticketed');
CREATE INDEX fault_cases_recent ON fault_cases (device_id, family, last_cleared_at DESC)
    WHERE status = 'resolved_by_customer';
CREATE INDEX fault_cases_deadline ON fault_cases (guidance_deadline) WHERE status = 'guidance';

CREATE TABLE tickets (
    ticket_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES fault_cases,
    device_id text NOT NULL REFERENCES devices ON DELETE CASCADE,
    family text NOT NULL,
    code text NOT NULL,
    codes text[] NOT NULL,
    kind text NOT NULL CHECK (kind IN ('repair', 'urgent', 'emergency', 'planned')),
    status text NOT NULL CHECK (status IN ('open', 'contacted', 'scheduled', 'dispatched', 'resolved',
                                           'closed', 'resolved_remotely', 'cancelled')),
    priority smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
    occurrences integer NOT NULL DEFAULT 1,
    opened_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    first_raised_at timestamptz NOT NULL,
    last_raised_at timestamptz NOT NULL,
    fault_cleared_at timestamptz,
    contact_due_at timestamptz NOT NULL,
    contacted_at timestamptz,
    escalated_at timestamptz,
    escalations integer NOT NULL DEFAULT 0,
    remote_resolution_proposed_at timestamptz,
    service_point_id text REFERENCES service_points,
    service_point_distance_km double precision,
    technician text,
    region text,
    in_warranty boolean,
    warranty_ends_on date,
    rule text NOT NULL,
    evidence jsonb NOT NULL,
    closed_at timestamptz
);
CREATE UNIQUE INDEX tickets_one_open ON tickets (device_id, family)
    WHERE status NOT IN ('resolved', 'closed', 'resolved_remotely', 'cancelled');
CREATE INDEX tickets_queue ON tickets (status, priority, opened_at);
CREATE INDEX tickets_contact_due ON tickets (contact_due_at) WHERE status = 'open';
CREATE INDEX tickets_device ON tickets (device_id, opened_at DESC);
CREATE INDEX tickets_service_point ON tickets (service_point_id, status);

CREATE TABLE ticket_transitions (
    transition_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id bigint NOT NULL REFERENCES tickets ON DELETE CASCADE,
    from_status text,
    to_status text NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor text NOT NULL,
    note text
);
CREATE INDEX ticket_transitions_ticket ON ticket_transitions (ticket_id, transition_id);

-- Call-center events (ticket.opened, …), written in the transaction that caused them; the webhook
-- worker delivers them.
CREATE TABLE outbox_events (
    event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_type text NOT NULL,
    subject text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX outbox_events_subject ON outbox_events (subject, event_id);

-- Messages to customers (guidance, safety alerts), one row per contact; delivered by the alert worker.
CREATE TABLE customer_alerts (
    alert_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id text NOT NULL REFERENCES devices ON DELETE CASCADE,
    contact_id bigint REFERENCES device_contacts ON DELETE SET NULL,
    phone text NOT NULL,
    channel text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('guidance', 'safety', 'emergency')),
    code text NOT NULL,
    case_id bigint REFERENCES fault_cases,
    ticket_id bigint REFERENCES tickets,
    message_ko text NOT NULL,
    message_en text NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX customer_alerts_device ON customer_alerts (device_id, created_at DESC);
CREATE INDEX customer_alerts_pending ON customer_alerts (alert_id) WHERE status = 'pending';

-- The call-center view of a ticket, as every ticket event (opened, updated, escalated, resolved)
-- carries it: one definition for every statement that writes an outbox event.
CREATE FUNCTION ticket_event_payload(t tickets) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'ticket_id', t.ticket_id, 'device_id', t.device_id, 'code', t.code, 'codes', t.codes,
        'family', t.family, 'kind', t.kind, 'status', t.status, 'priority', t.priority,
        'occurrences', t.occurrences, 'opened_at', t.opened_at, 'updated_at', t.updated_at,
        'contact_due_at', t.contact_due_at, 'escalations', t.escalations,
        'fault_cleared_at', t.fault_cleared_at,
        'remote_resolution_proposed', t.remote_resolution_proposed_at IS NOT NULL,
        'service_point_id', t.service_point_id, 'region', t.region, 'in_warranty', t.in_warranty,
        'rule', t.rule)
$$;
