-- A year (2025-12-01 to 2026-11-30, Korean days) of a 1,000,000-boiler fleet, as generated rows
-- (bench/reports.py). Rates per boiler and year: 2 faults raised (each cleared 10 minutes later),
-- 0.6 fault cases, 0.36 tickets (5 % cancelled), 0.6 customer alerts, 0.4 inbound calls; 40 % of
-- the faults fall in the winter's first 90 days. Codes are skewed (a few codes make most faults).
-- :devices is substituted by the benchmark; code_families (code, family) is filled before.

SELECT setseed(0.23);

INSERT INTO devices (device_id, model, serial, region, installed_on)
SELECT 'r' || lpad(i::text, 7, '0'),
       (ARRAY['NCB-300', 'NCB-500', 'NCB-700', 'ECO-24', 'ECO-30', 'TURBO-S', 'KCB-20', 'KCB-25'])[1 + i % 8],
       'S' || i, r.codes[1 + (i::bigint * 7919) % array_length(r.codes, 1)], date '2015-01-01' + i % 3650
FROM generate_series(1, :devices) AS i,
     (SELECT array_agg(p.region ORDER BY p.region) AS codes FROM (SELECT DISTINCT region FROM service_points) AS p) AS r;

CREATE TEMP TABLE gen_codes AS
SELECT row_number() OVER (ORDER BY code) AS k, code, family FROM code_families;

CREATE TEMP TABLE gen_points AS
SELECT region, array_agg(point_id ORDER BY point_id) AS points FROM service_points GROUP BY region;

CREATE TEMP TABLE gen_faults AS
SELECT i, 'r' || lpad((1 + floor(random() * :devices))::bigint::text, 7, '0') AS device_id,
       CASE WHEN random() < 0.4 THEN timestamptz '2025-12-01 00:00+09' + random() * interval '90 days'
            ELSE timestamptz '2025-12-01 00:00+09' + random() * interval '365 days' END AS ts,
       1 + floor(power(random(), 3) * (SELECT count(*) FROM gen_codes))::int AS k
FROM generate_series(1, 2 * :devices) AS i;

INSERT INTO events (device_id, ts, seq, received_at, code, state)
SELECT f.device_id, f.ts + s.after, 2 * f.i + s.n, f.ts + s.after, c.code, s.state
FROM gen_faults AS f JOIN gen_codes AS c USING (k)
CROSS JOIN (VALUES (0, interval '0', 'raised'), (1, interval '10 minutes', 'cleared')) AS s (n, after, state);

-- Three faults in ten open a case: a third fixed by the customer, the rest closed, 90 % of those
-- after a ticket.
CREATE TEMP TABLE gen_cases AS
SELECT f.i, f.device_id, c.code, c.family, f.ts,
       CASE WHEN f.i % 10 = 0 THEN 'resolved_by_customer' ELSE 'closed' END AS status
FROM gen_faults AS f JOIN gen_codes AS c USING (k)
WHERE f.i % 10 IN (0, 3, 6);

INSERT INTO fault_cases (device_id, family, code, status, first_raised_at, last_raised_at, rule, opened_at, closed_at)
SELECT device_id, family, code, status, ts, ts, 'bench', ts, ts + interval '1 day' FROM gen_cases;

-- Tickets: 70 % resolved on site, 10 % remotely, 15 % closed unresolved, 5 % cancelled.
INSERT INTO tickets (case_id, device_id, family, code, codes, kind, status, priority, first_raised_at,
                     last_raised_at, contact_due_at, contacted_at, service_point_id, technician, region,
                     rule, evidence, opened_at, updated_at)
SELECT fc.case_id, fc.device_id, fc.family, fc.code, ARRAY[fc.code], 'repair',
       CASE WHEN fc.case_id % 20 < 14 THEN 'resolved' WHEN fc.case_id % 20 < 16 THEN 'resolved_remotely'
            WHEN fc.case_id % 20 < 19 THEN 'closed' ELSE 'cancelled' END,
       3, fc.opened_at, fc.opened_at, fc.opened_at + interval '1 hour',
       CASE WHEN fc.case_id % 50 <> 0 THEN fc.opened_at + power(random(), 2) * interval '100 minutes' END,
       p.points[1 + fc.case_id % array_length(p.points, 1)],
       p.points[1 + fc.case_id % array_length(p.points, 1)] || '-t' || (fc.case_id / 7) % 8,
       d.region, 'bench', '{}', fc.opened_at + interval '5 minutes', fc.opened_at + interval '3 days'
FROM fault_cases AS fc JOIN devices AS d USING (device_id) JOIN gen_points AS p ON p.region = d.region
WHERE fc.status = 'closed' AND fc.case_id % 10 < 9;

INSERT INTO ticket_transitions (ticket_id, from_status, to_status, at, actor)
SELECT t.ticket_id, 'scheduled', 'dispatched', t.opened_at + random() * interval '48 hours', 'bench'
FROM tickets AS t WHERE t.status IN ('resolved', 'closed');
INSERT INTO ticket_transitions (ticket_id, from_status, to_status, at, actor)
SELECT t.ticket_id, 'dispatched', t.status, tr.at + random() * interval '6 hours', 'bench'
FROM tickets AS t JOIN ticket_transitions AS tr USING (ticket_id)
WHERE t.status = 'resolved' AND tr.to_status = 'dispatched';
INSERT INTO ticket_transitions (ticket_id, from_status, to_status, at, actor)
SELECT ticket_id, 'contacted', 'resolved_remotely', opened_at + random() * interval '4 hours', 'bench'
FROM tickets WHERE status = 'resolved_remotely';

-- One alert per case, 0.4 inbound calls per boiler (half from a known boiler).
INSERT INTO customer_alerts (device_id, phone, channel, kind, code, case_id, message_ko, message_en, status, created_at)
SELECT device_id, '+821000000000', 'sms', 'guidance', code, case_id, '안내', 'guidance', 'sent', opened_at
FROM fault_cases;

INSERT INTO inbound_calls (at, region, device_id)
SELECT CASE WHEN random() < 0.4 THEN timestamptz '2025-12-01 00:00+09' + random() * interval '90 days'
            ELSE timestamptz '2025-12-01 00:00+09' + random() * interval '365 days' END,
       d.region, CASE WHEN i % 2 = 0 THEN d.device_id END
FROM generate_series(1, (:devices * 4) / 10) AS i
JOIN devices AS d ON d.device_id = 'r' || lpad((1 + (i::bigint * 104729) % :devices)::text, 7, '0');

-- A happy call after one resolved ticket in five; a prediction before one ticket in sixty.
INSERT INTO customer_links (case_id, device_id, phone, salt, expires_at)
SELECT case_id, device_id, '+821000000000', '\x00', opened_at + interval '30 days'
FROM tickets WHERE status = 'resolved' AND ticket_id % 5 = 0;
INSERT INTO customer_surveys (ticket_id, link_id, score, solved, comment, flagged, answered_at)
SELECT t.ticket_id, l.link_id, 1 + t.ticket_id % 5, t.ticket_id % 5 <> 0,
       CASE WHEN t.ticket_id % 7 = 0 THEN '기사님이 친절했어요' ELSE '' END, t.ticket_id % 5 < 2,
       t.opened_at + interval '2 days'
FROM tickets AS t JOIN customer_links AS l USING (case_id);
INSERT INTO predictions (device_id, code, family, detector, status, predicted_at, evidence, ticket_id,
                         confirmed_code, confirmed_at)
SELECT device_id, 'A01', family, 'bench', 'confirmed', opened_at - interval '3 days', '{}', ticket_id, code, opened_at
FROM tickets WHERE ticket_id % 60 = 0;

ANALYZE;
