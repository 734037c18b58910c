-- Named queries of the report rollups' refresh (diagnostics/reports/rollups.py).

-- name: try_lock
SELECT pg_try_advisory_xact_lock($1);

-- name: state
SELECT built_from, refreshed_at FROM report_rollup_state;

-- name: first_day
-- The first Korean day anything countable happened: where a first build starts.
SELECT (min(at) AT TIME ZONE 'Asia/Seoul')::date FROM (
    SELECT min(ts) AS at FROM events
    UNION ALL SELECT min(opened_at) FROM fault_cases
    UNION ALL SELECT min(opened_at) FROM tickets
    UNION ALL SELECT min(created_at) FROM customer_alerts
    UNION ALL SELECT min(at) FROM inbound_calls
) AS firsts;

-- name: clear_days
-- $1, $2: the first and last day to recompute.
WITH f AS (DELETE FROM report_ticket_facts WHERE day BETWEEN $1 AND $2),
     d AS (DELETE FROM report_volume_daily WHERE day BETWEEN $1 AND $2)
DELETE FROM report_volume_hourly WHERE day BETWEEN $1 AND $2;

-- name: fill_tickets
INSERT INTO report_ticket_facts SELECT * FROM report_tickets($1, $2, true);

-- name: fill_daily
INSERT INTO report_volume_daily SELECT * FROM report_volume($1, $2, true);

-- name: fill_hourly
INSERT INTO report_volume_hourly SELECT * FROM report_volume_hours($1, $2, true);

-- name: changed_tickets
-- Tickets opened before the recomputed days that changed since the last refresh (contacted, moved,
-- resolved late, a happy call answered weeks later): judged again. $1: the first recomputed day;
-- $2: when the last refresh ran.
SELECT t.ticket_id, t.opened_at FROM tickets AS t
WHERE t.opened_at < report_day_start($1)
  AND t.ticket_id IN (SELECT ticket_id FROM tickets WHERE updated_at >= $2
                      UNION SELECT ticket_id FROM ticket_transitions WHERE at >= $2
                      UNION SELECT ticket_id FROM customer_surveys WHERE answered_at >= $2
                      UNION SELECT ticket_id FROM ticket_escalations WHERE at >= $2);

-- name: forget_tickets
DELETE FROM report_ticket_facts WHERE ticket_id = ANY($1::bigint[]);

-- name: judge_tickets
-- $1, $2: the tickets and when each opened.
INSERT INTO report_ticket_facts
SELECT r.* FROM unnest($1::bigint[], $2::timestamptz[]) AS c (ticket_id, opened_at)
CROSS JOIN LATERAL report_ticket_rows(c.opened_at, c.opened_at + interval '1 microsecond') AS r
WHERE r.ticket_id = c.ticket_id;

-- name: mark_refreshed
UPDATE report_rollup_state SET built_from = coalesce(built_from, $1), refreshed_at = $2;
