-- The webhook fan-out, named where its readers look for it: one delivery row per active subscription
-- that wants the event, for every row inserted into outbox_events. First defined in 0005 (which also
-- made the trigger `outbox_events_fan_out AFTER INSERT ON outbox_events FOR EACH ROW`, unchanged);
-- restated here with the same body, so applying this file changes nothing in the database.
--
-- It is kept as a trigger, not Python in the delivery worker, so the delivery row commits in the same
-- transaction as the event, whatever package wrote it (the fault engine, ticket work, inspection
-- campaigns): no event can be missed by a cursor that read past an id whose transaction had not
-- committed yet. The delivery worker (outbox/webhooks/delivery.py) then sends the rows; `safety`
-- marks urgent and emergency events, retried on a shorter backoff.

CREATE OR REPLACE FUNCTION fan_out_webhooks() RETURNS trigger
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
