-- Commands to boilers (diagnostics/commands): the command record, its append-only history, the
-- customer's remote-access consent and each device's desired state.

CREATE TABLE commands (
    command_id uuid PRIMARY KEY,
    device_id text NOT NULL REFERENCES devices ON DELETE RESTRICT,
    kind text NOT NULL CHECK (kind IN ('lockout_reset', 'set_ch_setpoint', 'set_dhw_setpoint', 'set_mode',
                                       'water_fill', 'request_diagnostics')),
    params jsonb NOT NULL DEFAULT '{}',
    requested_by text NOT NULL CHECK (length(requested_by) BETWEEN 1 AND 200),
    requested_key text NOT NULL,
    role text NOT NULL,
    reason text CHECK (length(reason) <= 1000),
    ticket_id bigint REFERENCES tickets ON DELETE RESTRICT,
    case_id bigint REFERENCES fault_cases ON DELETE RESTRICT,
    desired_version int,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at timestamptz NOT NULL,
    state text NOT NULL CHECK (state IN ('queued', 'sent', 'delivered', 'succeeded', 'failed', 'rejected',
                                         'expired', 'cancelled')),
    result jsonb,
    attempts int NOT NULL DEFAULT 0,
    sent_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_by text NOT NULL
);
CREATE INDEX commands_device ON commands (device_id, created_at DESC);
CREATE INDEX commands_open ON commands (device_id, created_at) WHERE state IN ('queued', 'sent', 'delivered');
CREATE INDEX commands_case ON commands (case_id) WHERE case_id IS NOT NULL;

CREATE TABLE command_transitions (
    transition_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    command_id uuid NOT NULL REFERENCES commands ON DELETE RESTRICT,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    from_state text,
    to_state text NOT NULL,
    actor text NOT NULL,
    detail jsonb
);
CREATE INDEX command_transitions_command ON command_transitions (command_id, transition_id);

-- Nobody edits or deletes the history: a command's identity, who asked and why never change, a
-- command in a final state never changes, and transitions are only ever appended.
CREATE FUNCTION commands_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'the command history is append-only: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_TABLE_NAME = 'command_transitions' THEN
        RAISE EXCEPTION 'the command history is append-only: UPDATE on command_transitions refused'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.command_id, NEW.device_id, NEW.kind, NEW.params, NEW.requested_by, NEW.requested_key, NEW.role,
        NEW.reason, NEW.ticket_id, NEW.case_id, NEW.desired_version, NEW.created_at, NEW.expires_at)
       IS DISTINCT FROM
       (OLD.command_id, OLD.device_id, OLD.kind, OLD.params, OLD.requested_by, OLD.requested_key, OLD.role,
        OLD.reason, OLD.ticket_id, OLD.case_id, OLD.desired_version, OLD.created_at, OLD.expires_at) THEN
        RAISE EXCEPTION 'a command''s request is never edited (command %)', OLD.command_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.state IN ('succeeded', 'failed', 'rejected', 'expired', 'cancelled') AND NEW.state <> OLD.state THEN
        RAISE EXCEPTION 'command % is % already', OLD.command_id, OLD.state USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER commands_guard BEFORE UPDATE OR DELETE ON commands FOR EACH ROW EXECUTE FUNCTION commands_guard();
CREATE TRIGGER commands_no_truncate BEFORE TRUNCATE ON commands EXECUTE FUNCTION commands_guard();
CREATE TRIGGER command_transitions_guard BEFORE UPDATE OR DELETE ON command_transitions
    FOR EACH ROW EXECUTE FUNCTION commands_guard();
CREATE TRIGGER command_transitions_no_truncate BEFORE TRUNCATE ON command_transitions
    EXECUTE FUNCTION commands_guard();

-- Every state a command enters is a transition, and the call center hears of the ones it acts on:
-- written here, so that no path that changes a command can forget either.
CREATE FUNCTION command_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    event text;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.state = OLD.state THEN
        RETURN NEW;
    END IF;
    INSERT INTO command_transitions (command_id, from_state, to_state, actor, detail)
    VALUES (NEW.command_id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.state END, NEW.state, NEW.updated_by, NEW.result);
    event := CASE NEW.state
        WHEN 'queued' THEN 'command.requested' WHEN 'succeeded' THEN 'command.succeeded'
        WHEN 'failed' THEN 'command.failed' WHEN 'expired' THEN 'command.expired'
        WHEN 'rejected' THEN 'command.rejected' WHEN 'cancelled' THEN 'command.cancelled' END;
    IF event IS NOT NULL THEN
        INSERT INTO outbox_events (event_type, subject, payload)
        VALUES (event, 'command/' || NEW.command_id, jsonb_build_object(
            'command_id', NEW.command_id, 'device_id', NEW.device_id, 'kind', NEW.kind, 'params', NEW.params,
            'state', NEW.state, 'requested_by', NEW.requested_by, 'role', NEW.role, 'reason', NEW.reason,
            'ticket_id', NEW.ticket_id, 'created_at', NEW.created_at, 'expires_at', NEW.expires_at,
            'result', NEW.result));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER command_changed AFTER INSERT OR UPDATE OF state ON commands
    FOR EACH ROW EXECUTE FUNCTION command_changed();

-- A device's answer (command_answers, written by the gateway) moves its command on. Only the device
-- the command was for can: the topic names the device, and the broker lets a device publish on its
-- own topics only. An answer that fits no open state (late, or for a command already ended) is kept
-- in command_answers and changes nothing.
CREATE FUNCTION apply_command_answer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE commands SET
        state = CASE
            WHEN NEW.stage = 'ack' AND NEW.ac = 202 THEN 'delivered'
            WHEN NEW.stage = 'ack' AND NEW.ac = 410 THEN 'expired'
            WHEN NEW.stage = 'ack' THEN 'rejected'
            WHEN NEW.ac BETWEEN 200 AND 299 THEN 'succeeded'
            ELSE 'failed' END,
        result = jsonb_strip_nulls(jsonb_build_object('by', 'device', 'stage', NEW.stage, 'ac', NEW.ac,
                                                      'ad', NEW.ad, 'av', NEW.av)),
        updated_at = clock_timestamp(), updated_by = 'device'
    WHERE command_id = NEW.command_id AND device_id = NEW.device_id
      AND ((NEW.stage = 'ack' AND state IN ('queued', 'sent'))
           OR (NEW.stage = 'result' AND state IN ('queued', 'sent', 'delivered')));
    RETURN NEW;
END $$;
CREATE TRIGGER apply_command_answer AFTER INSERT ON command_answers
    FOR EACH ROW EXECUTE FUNCTION apply_command_answer();

-- The customer's remote-access consent for a device: granted, scoped to kinds of command, revocable.
CREATE TABLE remote_consents (
    consent_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id text NOT NULL REFERENCES devices ON DELETE CASCADE,
    scope text[] NOT NULL CHECK (cardinality(scope) > 0),
    granted_by text NOT NULL,
    granted_via text NOT NULL CHECK (granted_via IN ('customer', 'agent_on_behalf')),
    granted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at timestamptz,
    revoked_at timestamptz,
    revoked_by text
);
CREATE INDEX remote_consents_device ON remote_consents (device_id, consent_id DESC);

-- Desired setpoints and mode, with a version: a change names the version it saw, so two agents
-- changing the same setpoint get a conflict, not a race. What the boiler reports is in readings.
CREATE TABLE device_desired_state (
    device_id text PRIMARY KEY REFERENCES devices ON DELETE CASCADE,
    desired jsonb NOT NULL DEFAULT '{}',
    version int NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_by text
);

-- What came of each remote lockout reset sent for a fault case: fixed (the code stayed clear for the
-- watch window; its ticket is resolved remotely), recurred (the code came back: the visit goes ahead)
-- or failed (the boiler could not do it, or never got it).
CREATE TABLE remote_reset_outcomes (
    command_id uuid PRIMARY KEY REFERENCES commands ON DELETE RESTRICT,
    case_id bigint NOT NULL REFERENCES fault_cases ON DELETE RESTRICT,
    ticket_id bigint REFERENCES tickets ON DELETE RESTRICT,
    outcome text NOT NULL CHECK (outcome IN ('fixed', 'recurred', 'failed')),
    concluded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    detail text NOT NULL
);
