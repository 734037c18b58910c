-- Customer alerts reach people: each contact's language, consent and quiet hours; delivery state of
-- every alert (provider, attempts, acknowledgement, escalation); and the sink provider's record.

-- escalation_rank 0: alerted at once (the owner and the family member who registered them);
-- 1, 2, …: alerted in that order when nobody acknowledged a safety alert in time.
ALTER TABLE device_contacts
    ADD COLUMN language text NOT NULL DEFAULT 'ko' CHECK (language IN ('ko', 'en')),
    ADD COLUMN consent_alerts boolean NOT NULL DEFAULT true,
    ADD COLUMN consent_marketing boolean NOT NULL DEFAULT false,
    ADD COLUMN quiet_start time NOT NULL DEFAULT '21:00',
    ADD COLUMN quiet_end time NOT NULL DEFAULT '08:00',
    ADD COLUMN escalation_rank smallint NOT NULL DEFAULT 0 CHECK (escalation_rank BETWEEN 0 AND 9);

-- status: pending (due at not_before; also the lease of a worker sending it), sent, failed, skipped
-- (no consent). wave: 0 for the first alert, 1 for the escalation to the next contacts.
-- Constant defaults first (no table rewrite), the time default after.
ALTER TABLE customer_alerts
    ADD COLUMN wave smallint NOT NULL DEFAULT 0,
    ADD COLUMN not_before timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN provider text,
    ADD COLUMN channel_used text,
    ADD COLUMN provider_message_id text,
    ADD COLUMN sent_at timestamptz,
    ADD COLUMN last_error text,
    ADD COLUMN acknowledged_at timestamptz,
    ADD COLUMN acknowledged_by text,
    ADD COLUMN escalated_at timestamptz;
ALTER TABLE customer_alerts ALTER COLUMN not_before SET DEFAULT clock_timestamp();

-- Alerts written before anything delivered them are history, not a queue: sending them now would
-- tell customers about faults long past, and escalate them too.
UPDATE customer_alerts
SET status = 'skipped', last_error = 'written before alert delivery existed', escalated_at = clock_timestamp();

ALTER TABLE customer_alerts
    ADD CONSTRAINT customer_alerts_status CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    DROP CONSTRAINT customer_alerts_kind_check,
    ADD CONSTRAINT customer_alerts_kind_check
        CHECK (kind IN ('guidance', 'safety', 'emergency', 'escalation', 'visit'));
DROP INDEX customer_alerts_pending;
CREATE INDEX customer_alerts_due ON customer_alerts (not_before) WHERE status = 'pending';
CREATE INDEX customer_alerts_case ON customer_alerts (case_id);
CREATE INDEX customer_alerts_contact ON customer_alerts (contact_id);
CREATE INDEX customer_alerts_unacknowledged ON customer_alerts (created_at)
    WHERE kind IN ('safety', 'emergency') AND wave = 0 AND acknowledged_at IS NULL AND escalated_at IS NULL;

-- What the sink provider (local stack, tests) "sent": a developer sees what a customer would get.
CREATE TABLE alert_sink_messages (
    message_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id bigint,
    channel text NOT NULL,
    recipient text NOT NULL,
    template_code text,
    body text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
