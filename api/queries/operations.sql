-- What an operator watches, read at every metrics scrape (docs/operations.md). Each figure comes from
-- a partial or primary-key index, so a scrape costs the size of the queues, not of the tables.

-- name: operations_snapshot
-- The work queues as of $1: webhook deliveries waiting or given up, customer alerts waiting (due or
-- not yet) or failed, open tickets past their contact clock, the diagnostics inbox, and the events
-- the engine could not handle. Ages in seconds; NULL when the queue is empty.
SELECT
    w.pending AS webhook_pending,
    extract(epoch FROM $1 - w.oldest) AS webhook_oldest_pending_s,
    (SELECT count(*) FROM webhook_deliveries WHERE status = 'failed') AS webhook_failed,
    a.pending AS alerts_pending,
    a.due AS alerts_due,
    extract(epoch FROM $1 - a.oldest_due) AS alerts_oldest_due_s,
    (SELECT count(*) FROM customer_alerts WHERE status = 'failed') AS alerts_failed,
    t.past_due AS tickets_past_contact_due,
    extract(epoch FROM $1 - t.oldest_due) AS tickets_oldest_past_due_s,
    i.backlog AS inbox_backlog,
    extract(epoch FROM $1 - i.oldest) AS inbox_oldest_s,
    (SELECT count(*) FROM diagnostic_failures) AS diagnostic_failures,
    (SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')) AS sync_standbys,
    coalesce((SELECT event = 'degraded' FROM replication_events ORDER BY event_id DESC LIMIT 1), false)
        AS sync_degraded
FROM (SELECT count(*) AS pending, min(created_at) AS oldest
      FROM webhook_deliveries WHERE status = 'pending') AS w,
     (SELECT count(*) AS pending, count(*) FILTER (WHERE not_before <= $1) AS due,
             min(not_before) FILTER (WHERE not_before <= $1) AS oldest_due
      FROM customer_alerts WHERE status = 'pending') AS a,
     (SELECT count(*) AS past_due, min(contact_due_at) AS oldest_due
      FROM tickets WHERE status = 'open' AND contact_due_at < $1) AS t,
     (SELECT count(*) AS backlog, min(received_at) AS oldest FROM event_inbox) AS i;
