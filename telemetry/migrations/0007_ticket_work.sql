-- What agents and technicians write on a ticket: free notes, and who the visit is assigned to.
CREATE TABLE ticket_notes (
    note_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id bigint NOT NULL REFERENCES tickets ON DELETE CASCADE,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    author text NOT NULL CHECK (length(author) BETWEEN 1 AND 100),
    kind text NOT NULL CHECK (kind IN ('note', 'assignment')),
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000)
);
CREATE INDEX ticket_notes_ticket ON ticket_notes (ticket_id, note_id);

ALTER TABLE tickets ADD COLUMN assigned_at timestamptz, ADD COLUMN assigned_by text;

-- Call-center events now say who the visit is assigned to.
CREATE OR REPLACE FUNCTION ticket_event_payload(t tickets) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'ticket_id', t.ticket_id, 'device_id', t.device_id, 'code', t.code, 'codes', t.codes,
        'family', t.family, 'kind', t.kind, 'status', t.status, 'priority', t.priority,
        'occurrences', t.occurrences, 'opened_at', t.opened_at, 'updated_at', t.updated_at,
        'contact_due_at', t.contact_due_at, 'escalations', t.escalations,
        'fault_cleared_at', t.fault_cleared_at,
        'remote_resolution_proposed', t.remote_resolution_proposed_at IS NOT NULL,
        'service_point_id', t.service_point_id, 'technician', t.technician, 'assigned_at', t.assigned_at,
        'region', t.region, 'in_warranty', t.in_warranty, 'rule', t.rule)
$$;
