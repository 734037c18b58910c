-- Webhooks to the call center: subscriptions, one delivery row per (subscription, outbox event),
-- and a log of every attempt.
--
-- A delivery row is created by a trigger on outbox_events, so it commits in the same transaction
-- as the change that caused the event: no event can be missed by a cursor that read past an id
-- whose transaction had not committed yet. The delivery worker (outbox/webhooks/delivery.py) sends
-- them at least once, in order per subject (a ticket), and records each attempt.

CREATE TABLE webhook_subscriptions (
    subscription_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2048),
    -- The signing key, "whsec_" + base64. Kept as is: the sender needs it to sign every message
    -- (Standard Webhooks); it is shown once, at creation, and never by a read.
    secret text NOT NULL,
    event_types text[] NOT NULL CHECK (cardinality(event_types) > 0),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    disabled_at timestamptz
);

CREATE TABLE webhook_deliveries (
    delivery_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id bigint NOT NULL REFERENCES webhook_subscriptions ON DELETE CASCADE,
    event_id bigint NOT NULL REFERENCES outbox_events,
    subject text NOT NULL,
    event_type text NOT NULL,
    -- Safety-critical events (urgent and emergency tickets) are retried every few seconds.
    safety boolean NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts int NOT NULL DEFAULT 0,
    -- When the next attempt is due. A worker that takes a delivery moves it a lease ahead, so a
    -- worker killed mid-attempt leaves it due again once the lease runs out.
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_status_code int,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    delivered_at timestamptz,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- Order per subject: only the oldest pending delivery of a (subscription, subject) may be sent.
CREATE INDEX webhook_deliveries_subject ON webhook_deliveries (subscription_id, subject, delivery_id)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (subscription_id, delivery_id);

CREATE TABLE webhook_attempts (
    attempt_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id bigint NOT NULL REFERENCES webhook_deliveries ON DELETE CASCADE,
    attempted_at timestamptz NOT NULL,
    duration_ms double precision NOT NULL,
    status_code int,
    error text,
    -- The start of the receiver's answer only: a receiver must not fill our database.
    response_excerpt text CHECK (length(response_excerpt) <= 512)
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt_id);

CREATE FUNCTION fan_out_webhooks() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (subscription_id, event_id, subject, event_type, safety)
    SELECT s.subscription_id, NEW.event_id, NEW.subject, NEW.event_type,
           coalesce(NEW.payload->>'kind' IN ('urgent', 'emergency'), false)
    FROM webhook_subscriptions AS s
    WHERE s.active AND NEW.event_type = ANY (s.event_types);
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_events_fan_out AFTER INSERT ON outbox_events
    FOR EACH ROW EXECUTE FUNCTION fan_out_webhooks();
