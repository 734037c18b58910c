-- Named queries of the service-quality reports: every figure is defined here, once.
-- Parameters: :first and :last (Korean days, inclusive), :region and :point (NULL: all).

-- name: service_figures
-- Over the tickets opened in the period (cancelled ones left out):
--   tickets               how many
--   contacted_in_time     contacted by the contact deadline (1 hour after opening)
--   contact_minutes_p50   median time from opening to first contact
--   visit_hours_p50       median time from opening to the technician's dispatch
--   repair_hours_p50      median time from opening to resolution (on site or remote)
--   resolved              resolved (on site or remote)
--   first_visit_fixed     resolved with no new ticket of the same device and fault family within 30 days
--   repeat_within_30d     resolved and followed by a new ticket of the same device and family within 30 days
--   sla_breached          not contacted by the deadline (contacted late, or not at all and the deadline passed)
WITH t AS (
    SELECT t.*,
           (SELECT min(tr.at) FROM ticket_transitions AS tr WHERE tr.ticket_id = t.ticket_id AND tr.to_status = 'dispatched') AS dispatched_at,
           (SELECT min(tr.at) FROM ticket_transitions AS tr WHERE tr.ticket_id = t.ticket_id
             AND tr.to_status IN ('resolved', 'resolved_remotely')) AS resolved_at
    FROM tickets AS t
    WHERE t.opened_at >= (:first::date)::timestamp AT TIME ZONE 'Asia/Seoul'
      AND t.opened_at < (:last::date + 1)::timestamp AT TIME ZONE 'Asia/Seoul'
      AND t.status <> 'cancelled'
      AND (:region::text IS NULL OR t.region = :region)
      AND (:point::text IS NULL OR t.service_point_id = :point)
), judged AS (
    SELECT t.*,
           EXISTS (SELECT 1 FROM tickets AS n WHERE n.device_id = t.device_id AND n.family = t.family
                   AND n.ticket_id <> t.ticket_id AND n.opened_at > t.resolved_at
                   AND n.opened_at <= t.resolved_at + interval '30 days') AS repeated
    FROM t
)
SELECT count(*) AS tickets,
       count(*) FILTER (WHERE contacted_at IS NOT NULL AND contacted_at <= contact_due_at) AS contacted_in_time,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM contacted_at - opened_at) / 60)
           FILTER (WHERE contacted_at IS NOT NULL) AS contact_minutes_p50,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM dispatched_at - opened_at) / 3600)
           FILTER (WHERE dispatched_at IS NOT NULL) AS visit_hours_p50,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - opened_at) / 3600)
           FILTER (WHERE resolved_at IS NOT NULL) AS repair_hours_p50,
       count(*) FILTER (WHERE resolved_at IS NOT NULL) AS resolved,
       count(*) FILTER (WHERE resolved_at IS NOT NULL AND NOT repeated) AS first_visit_fixed,
       count(*) FILTER (WHERE resolved_at IS NOT NULL AND repeated) AS repeat_within_30d,
       count(*) FILTER (WHERE (contacted_at IS NULL AND contact_due_at < clock_timestamp())
                           OR contacted_at > contact_due_at) AS sla_breached
FROM judged;

-- name: care_figures
-- Over the fault cases opened in the period:
--   cases               how many
--   self_fixed          resolved by the customer (the fault cleared after guidance)
--   fixed_remotely      their ticket was resolved remotely
--   dispatched          their ticket reached a technician's dispatch
--   proactive_tickets   tickets opened with no inbound call from the device in the 24 hours before
--   tickets             tickets of those cases
--   survey_answers, survey_score_avg, survey_flagged   the happy calls of their tickets
WITH c AS (
    SELECT fc.* FROM fault_cases AS fc JOIN devices AS d USING (device_id)
    WHERE fc.opened_at >= (:first::date)::timestamp AT TIME ZONE 'Asia/Seoul'
      AND fc.opened_at < (:last::date + 1)::timestamp AT TIME ZONE 'Asia/Seoul'
      AND (:region::text IS NULL OR d.region = :region)
), t AS (
    SELECT t.* FROM tickets AS t JOIN c USING (case_id)
    WHERE (:point::text IS NULL OR t.service_point_id = :point)
)
SELECT (SELECT count(*) FROM c) AS cases,
       (SELECT count(*) FROM c WHERE status = 'resolved_by_customer') AS self_fixed,
       (SELECT count(*) FROM t WHERE status = 'resolved_remotely') AS fixed_remotely,
       (SELECT count(*) FROM t WHERE EXISTS (SELECT 1 FROM ticket_transitions AS tr
                                             WHERE tr.ticket_id = t.ticket_id AND tr.to_status = 'dispatched')) AS dispatched,
       (SELECT count(*) FROM t) AS tickets,
       (SELECT count(*) FROM t WHERE NOT EXISTS (SELECT 1 FROM inbound_calls AS ic WHERE ic.device_id = t.device_id
                                                 AND ic.at BETWEEN t.opened_at - interval '24 hours' AND t.opened_at)) AS proactive_tickets,
       (SELECT count(*) FROM customer_surveys AS s JOIN t USING (ticket_id)) AS survey_answers,
       (SELECT avg(s.score)::float8 FROM customer_surveys AS s JOIN t USING (ticket_id)) AS survey_score_avg,
       (SELECT count(*) FROM customer_surveys AS s JOIN t USING (ticket_id) WHERE s.flagged) AS survey_flagged;
