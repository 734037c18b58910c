-- The call-center view of a ticket, as every ticket event (opened, updated, escalated, resolved)
-- carries it: one definition for every statement that writes a ticket's outbox event (the fault
-- engine's queries, the ticket work of diagnostics/tickets). First defined in 0003, last changed in
-- 0007 (who the visit is assigned to); restated here with 0007's body, so applying this file changes
-- nothing in the database. A change to the payload is a new migration owned here.

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
