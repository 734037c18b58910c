-- Why tickets are escalated, and alerts that must no longer go out.
--
-- A ticket is escalated once per reason (contact_overdue: nobody contacted the customer within the
-- contact clock; safety_alert_unacknowledged: nobody acknowledged a safety alert in time). Until now
-- one escalation of any kind stopped the others: an emergency whose safety alert had been escalated
-- could then breach its contact clock without the call center hearing of it.
CREATE TABLE ticket_escalations (
    ticket_id bigint NOT NULL REFERENCES tickets ON DELETE CASCADE,
    reason text NOT NULL CHECK (reason IN ('contact_overdue', 'safety_alert_unacknowledged')),
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    details jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (ticket_id, reason)
);

-- Escalations made before this table existed, recognised by the note the engine wrote with them.
INSERT INTO ticket_escalations (ticket_id, reason, at)
SELECT DISTINCT ON (ticket_id, reason) ticket_id, reason, at
FROM (
    SELECT ticket_id, at,
           CASE WHEN note LIKE 'customer not contacted by %' THEN 'contact_overdue'
                WHEN note LIKE 'safety alert % not acknowledged %' THEN 'safety_alert_unacknowledged'
           END AS reason
    FROM ticket_transitions WHERE actor = 'engine'
) AS old
WHERE reason IS NOT NULL
ORDER BY ticket_id, reason, at;

-- Entries the engine writes carry a reason code and its details, so that every reader (console,
-- call center) can word them in its own language; `note` keeps the English sentence for the record.
ALTER TABLE ticket_transitions ADD COLUMN reason text, ADD COLUMN details jsonb;

-- withdrawn: the alert was still waiting (quiet hours, a provider retry) when its case was resolved
-- or its ticket ended, so what it says is no longer true. Kept, not deleted: the record shows it.
ALTER TABLE customer_alerts
    DROP CONSTRAINT customer_alerts_status,
    ADD CONSTRAINT customer_alerts_status CHECK (status IN ('pending', 'sent', 'failed', 'skipped', 'withdrawn'));
