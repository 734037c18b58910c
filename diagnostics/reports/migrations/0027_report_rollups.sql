-- Service-quality reports (docs/reports.md): each figure's definition, once, and the rollups the
-- reports read so that a year of a million-boiler fleet answers in well under a second.
--
-- Definitions. report_ticket_rows judges each ticket (contact in time, times to visit and repair,
-- repeat within 30 days, proactive, predicted...); report_volume_rows lists every countable thing
-- (a fault raised, a case, a self-fix, a ticket, an alert, an inbound call) with its region, service
-- point, model and code. Everything else only counts, sums and takes medians of these rows.
--
-- Rollups. The store keeps its own, on both TimescaleDB editions: continuous aggregates read one
-- hypertable and follow only its inserts, while these figures join mutable tables (a ticket is
-- judged again when it is contacted, resolved, or followed by a repeat within 30 days). The
-- refresh job (diagnostics/reports/rollups.py) recomputes recent days; report_tickets,
-- report_volume and report_volume_hours read either the rollups or, with raw = true, the same
-- definitions over the raw tables (what the benchmark compares).

CREATE FUNCTION report_day_start(day date) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT day::timestamp AT TIME ZONE 'Asia/Seoul' $$;

CREATE FUNCTION report_ticket_rows(lo timestamptz, hi timestamptz)
RETURNS TABLE (
    ticket_id bigint, day date, region text, point text, technician text, model text, code text,
    family text, contact_minutes double precision, contacted_in_time boolean, breach text,
    dispatch_hours double precision, resolve_hours double precision, repeated boolean,
    remote boolean, proactive boolean, predicted boolean, lead_hours double precision,
    survey_answers integer, survey_score_sum integer, survey_flagged integer
)
LANGUAGE sql STABLE AS $$
    WITH t AS (
        SELECT t.ticket_id, t.opened_at, t.device_id, t.family, t.code, t.status, t.contacted_at,
               t.contact_due_at, t.region, t.service_point_id, t.technician, d.model,
               (SELECT min(tr.at) FROM ticket_transitions AS tr
                 WHERE tr.ticket_id = t.ticket_id AND tr.to_status = 'dispatched') AS dispatched_at,
               (SELECT min(tr.at) FROM ticket_transitions AS tr
                 WHERE tr.ticket_id = t.ticket_id AND tr.to_status IN ('resolved', 'resolved_remotely')) AS resolved_at
        FROM tickets AS t JOIN devices AS d USING (device_id)
        WHERE t.opened_at >= lo AND t.opened_at < hi AND t.status <> 'cancelled'
    )
    SELECT t.ticket_id,
           (t.opened_at AT TIME ZONE 'Asia/Seoul')::date,
           coalesce(t.region, ''), coalesce(t.service_point_id, ''), coalesce(t.technician, ''), t.model,
           t.code, t.family,
           extract(epoch FROM t.contacted_at - t.opened_at) / 60,
           t.contacted_at IS NOT NULL AND t.contacted_at <= t.contact_due_at,
           -- The SLA breach and its cause: the contact clock (1 hour) missed, or a safety alert
           -- nobody acknowledged in time.
           CASE WHEN t.contacted_at > t.contact_due_at THEN 'contact_late'
                WHEN t.contacted_at IS NULL AND t.contact_due_at < now() THEN 'not_contacted'
                WHEN EXISTS (SELECT 1 FROM ticket_escalations AS e WHERE e.ticket_id = t.ticket_id
                             AND e.reason = 'safety_alert_unacknowledged') THEN 'safety_unacknowledged'
           END,
           extract(epoch FROM t.dispatched_at - t.opened_at) / 3600,
           extract(epoch FROM t.resolved_at - t.opened_at) / 3600,
           -- A repeat: a new ticket of the same device and fault family within 30 days of resolution.
           t.resolved_at IS NOT NULL AND EXISTS (
               SELECT 1 FROM tickets AS n WHERE n.device_id = t.device_id AND n.family = t.family
               AND n.ticket_id <> t.ticket_id AND n.opened_at > t.resolved_at
               AND n.opened_at <= t.resolved_at + interval '30 days'),
           t.status = 'resolved_remotely',
           -- Proactive: no inbound call from the device in the 24 hours before the ticket opened.
           NOT EXISTS (SELECT 1 FROM inbound_calls AS ic WHERE ic.device_id = t.device_id
                       AND ic.at BETWEEN t.opened_at - interval '24 hours' AND t.opened_at),
           p.prediction_id IS NOT NULL,
           -- Lead time: from the prediction to the hard fault it foresaw (confirmed predictions only).
           extract(epoch FROM p.confirmed_at - p.predicted_at) / 3600,
           coalesce(s.answers, 0), coalesce(s.score_sum, 0), coalesce(s.flagged, 0)
    FROM t
    LEFT JOIN LATERAL (SELECT pr.prediction_id, pr.predicted_at, pr.confirmed_at FROM predictions AS pr
                       WHERE pr.ticket_id = t.ticket_id ORDER BY pr.prediction_id LIMIT 1) AS p ON true
    LEFT JOIN LATERAL (SELECT count(*)::integer AS answers, sum(cs.score)::integer AS score_sum,
                              (count(*) FILTER (WHERE cs.flagged))::integer AS flagged
                       FROM customer_surveys AS cs WHERE cs.ticket_id = t.ticket_id) AS s ON true
$$;

CREATE FUNCTION report_volume_rows(lo timestamptz, hi timestamptz)
RETURNS TABLE (at timestamptz, kind text, region text, point text, model text, code text)
LANGUAGE sql STABLE AS $$
    SELECT e.ts, 'fault', coalesce(d.region, ''), '', d.model, e.code
    FROM events AS e JOIN devices AS d USING (device_id)
    WHERE e.state = 'raised' AND e.ts >= lo AND e.ts < hi
    UNION ALL
    SELECT c.opened_at, k.kind, coalesce(d.region, ''), '', d.model, c.code
    FROM fault_cases AS c JOIN devices AS d USING (device_id)
    CROSS JOIN LATERAL (VALUES ('case'), ('self_fixed')) AS k (kind)
    WHERE c.opened_at >= lo AND c.opened_at < hi AND (k.kind = 'case' OR c.status = 'resolved_by_customer')
    UNION ALL
    SELECT t.opened_at, 'ticket', coalesce(t.region, ''), coalesce(t.service_point_id, ''), d.model, t.code
    FROM tickets AS t JOIN devices AS d USING (device_id)
    WHERE t.opened_at >= lo AND t.opened_at < hi AND t.status <> 'cancelled'
    UNION ALL
    SELECT a.created_at, 'alert', coalesce(d.region, ''), '', d.model, a.code
    FROM customer_alerts AS a JOIN devices AS d USING (device_id)
    WHERE a.created_at >= lo AND a.created_at < hi
    UNION ALL
    SELECT ic.at, 'call', coalesce(ic.region, d.region, ''), '', coalesce(d.model, ''), ''
    FROM inbound_calls AS ic LEFT JOIN devices AS d USING (device_id)
    WHERE ic.at >= lo AND ic.at < hi
$$;

-- The rollups: one row per ticket, judged; counts per Korean day (by code, and by model: grain)
-- and per hour of the day.
CREATE TABLE report_ticket_facts (
    ticket_id bigint PRIMARY KEY,
    day date NOT NULL,
    region text NOT NULL,
    point text NOT NULL,
    technician text NOT NULL,
    model text NOT NULL,
    code text NOT NULL,
    family text NOT NULL,
    contact_minutes double precision,
    contacted_in_time boolean NOT NULL,
    breach text,
    dispatch_hours double precision,
    resolve_hours double precision,
    repeated boolean NOT NULL,
    remote boolean NOT NULL,
    proactive boolean NOT NULL,
    predicted boolean NOT NULL,
    lead_hours double precision,
    survey_answers integer NOT NULL,
    survey_score_sum integer NOT NULL,
    survey_flagged integer NOT NULL
);
CREATE INDEX report_ticket_facts_day ON report_ticket_facts (day);

CREATE TABLE report_volume_daily (
    day date NOT NULL,
    kind text NOT NULL,
    grain text NOT NULL CHECK (grain IN ('code', 'model')),
    region text NOT NULL,
    point text NOT NULL,
    value text NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (day, kind, grain, region, point, value)
);

CREATE TABLE report_volume_hourly (
    day date NOT NULL,
    hour smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
    kind text NOT NULL,
    region text NOT NULL,
    point text NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (day, kind, region, point, hour)
);

-- How far the rollups are built: days before `frozen_before` are final, the rest is recomputed by
-- every refresh; refreshed_at is what a report says its figures are as of.
CREATE TABLE report_rollup_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    built_from date,
    refreshed_at timestamptz
);
INSERT INTO report_rollup_state DEFAULT VALUES;

-- The readers: the rollups, or with raw = true the definitions over the raw tables.
CREATE FUNCTION report_tickets(first date, last date, raw boolean)
RETURNS SETOF report_ticket_facts
LANGUAGE sql STABLE AS $$
    SELECT * FROM report_ticket_facts WHERE NOT raw AND day BETWEEN first AND last
    UNION ALL
    SELECT * FROM report_ticket_rows(report_day_start(first), report_day_start(last + 1)) WHERE raw
$$;

CREATE FUNCTION report_volume(first date, last date, raw boolean)
RETURNS SETOF report_volume_daily
LANGUAGE sql STABLE AS $$
    SELECT * FROM report_volume_daily WHERE NOT raw AND day BETWEEN first AND last
    UNION ALL
    SELECT (v.at AT TIME ZONE 'Asia/Seoul')::date, v.kind, g.grain, v.region, v.point,
           CASE g.grain WHEN 'code' THEN v.code ELSE v.model END, count(*)::integer
    FROM report_volume_rows(report_day_start(first), report_day_start(last + 1)) AS v
    CROSS JOIN (VALUES ('code'), ('model')) AS g (grain)
    WHERE raw
    GROUP BY 1, 2, 3, 4, 5, 6
$$;

CREATE FUNCTION report_volume_hours(first date, last date, raw boolean)
RETURNS SETOF report_volume_hourly
LANGUAGE sql STABLE AS $$
    SELECT * FROM report_volume_hourly WHERE NOT raw AND day BETWEEN first AND last
    UNION ALL
    SELECT (v.at AT TIME ZONE 'Asia/Seoul')::date,
           extract(hour FROM v.at AT TIME ZONE 'Asia/Seoul')::smallint, v.kind, v.region, v.point,
           count(*)::integer
    FROM report_volume_rows(report_day_start(first), report_day_start(last + 1)) AS v
    WHERE raw
    GROUP BY 1, 2, 3, 4, 5
$$;

-- What the definitions look up per ticket, and the ranges they read.
CREATE INDEX inbound_calls_device_at ON inbound_calls (device_id, at) WHERE device_id IS NOT NULL;
CREATE INDEX predictions_ticket ON predictions (ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX customer_alerts_created ON customer_alerts (created_at);
CREATE INDEX tickets_opened ON tickets (opened_at);
CREATE INDEX fault_cases_opened ON fault_cases (opened_at);
CREATE INDEX inbound_calls_at ON inbound_calls (at);
-- What the refresh reads to find older tickets that changed since it last ran.
CREATE INDEX tickets_updated ON tickets (updated_at);
CREATE INDEX ticket_transitions_at ON ticket_transitions (at);
CREATE INDEX customer_surveys_answered ON customer_surveys (answered_at);
