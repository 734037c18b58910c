-- Named queries of the service-quality reports. What each figure means is defined once, in the
-- migration's report_ticket_rows and report_volume_rows (0027_report_rollups.sql); these only count,
-- sum and take medians of their rows, read from the rollups or (:raw) from the raw tables.
-- Parameters: :first and :last (Korean days, inclusive), :region and :point (NULL: all), :raw.

-- name: service_figures
-- Over the tickets opened in the period (cancelled ones left out), per group (:by: 'point',
-- 'technician' or '' for one group of everything):
--   tickets               how many
--   contacted_in_time     contacted by the contact deadline (1 hour after opening)
--   contact_minutes_p50   median time from opening to first contact
--   visit_hours_p50       median time from opening to the technician's dispatch
--   repair_hours_p50      median time from opening to resolution (on site or remote)
--   resolved              resolved (on site or remote)
--   first_visit_fixed     resolved with no new ticket of the same device and fault family within 30 days
--   repeat_within_30d     resolved and followed by a new ticket of the same device and family within 30 days
--   sla_breached          the contact clock missed (late or not at all) or a safety alert left unacknowledged
--   breach_*              the same, by cause
SELECT CASE :by::text WHEN 'point' THEN point WHEN 'technician' THEN technician ELSE '' END AS grp,
       count(*) AS tickets,
       count(*) FILTER (WHERE contacted_in_time) AS contacted_in_time,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY contact_minutes) AS contact_minutes_p50,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY dispatch_hours) AS visit_hours_p50,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY resolve_hours) AS repair_hours_p50,
       count(*) FILTER (WHERE resolve_hours IS NOT NULL) AS resolved,
       count(*) FILTER (WHERE resolve_hours IS NOT NULL AND NOT repeated) AS first_visit_fixed,
       count(*) FILTER (WHERE repeated) AS repeat_within_30d,
       count(*) FILTER (WHERE breach IS NOT NULL) AS sla_breached,
       count(*) FILTER (WHERE breach = 'contact_late') AS breach_contact_late,
       count(*) FILTER (WHERE breach = 'not_contacted') AS breach_not_contacted,
       count(*) FILTER (WHERE breach = 'safety_unacknowledged') AS breach_safety_unacknowledged
FROM report_tickets(:first, :last, :raw)
WHERE (:region::text IS NULL OR region = :region) AND (:point::text IS NULL OR point = :point)
GROUP BY 1
ORDER BY 1;

-- name: care_tickets
-- Over the tickets opened in the period (the care share of them):
--   fixed_remotely      resolved remotely
--   dispatched          reached a technician's dispatch
--   proactive_tickets   opened with no inbound call from the device in the 24 hours before
--   predicted           opened by a prediction, before any hard fault
--   predicted_confirmed of those, the hard fault they foresaw arrived; lead_hours_p50: how long before
--   survey_answers, survey_score_avg, survey_flagged   their happy calls
SELECT count(*) AS tickets,
       count(*) FILTER (WHERE remote) AS fixed_remotely,
       count(*) FILTER (WHERE dispatch_hours IS NOT NULL) AS dispatched,
       count(*) FILTER (WHERE proactive) AS proactive_tickets,
       count(*) FILTER (WHERE predicted) AS predicted,
       count(*) FILTER (WHERE lead_hours IS NOT NULL) AS predicted_confirmed,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_hours) AS lead_hours_p50,
       coalesce(sum(survey_answers), 0)::bigint AS survey_answers,
       (sum(survey_score_sum)::float8 / nullif(sum(survey_answers), 0)) AS survey_score_avg,
       coalesce(sum(survey_flagged), 0)::bigint AS survey_flagged
FROM report_tickets(:first, :last, :raw)
WHERE (:region::text IS NULL OR region = :region) AND (:point::text IS NULL OR point = :point);

-- name: care_cases
-- Over the fault cases opened in the period: how many, and how many the customer fixed after guidance
-- (a case has no service point: :point does not narrow them).
SELECT coalesce(sum(n) FILTER (WHERE kind = 'case'), 0)::bigint AS cases,
       coalesce(sum(n) FILTER (WHERE kind = 'self_fixed'), 0)::bigint AS self_fixed
FROM report_volume(:first, :last, :raw)
WHERE grain = 'code' AND kind IN ('case', 'self_fixed') AND (:region::text IS NULL OR region = :region);

-- name: volume
-- How many of each kind (fault, case, self_fixed, ticket, alert, call) per period bucket (:bucket:
-- 'day', 'month', 'week' as ISO year-week, 'weekday' as ISO 1 = Monday) and group (:by: 'region',
-- 'point', 'code', 'model' or ''), filtered by region, point, code or model. Only tickets have a
-- service point: with :point, the other kinds are left out.
-- (Summed per day first: the bucket's label is then computed once per day and group, not per row.)
WITH per_day AS (
    SELECT day, CASE :by::text WHEN 'region' THEN region WHEN 'point' THEN point WHEN 'code' THEN value
                               WHEN 'model' THEN value ELSE '' END AS grp,
           kind, sum(n) AS n
    FROM report_volume(:first, :last, :raw)
    WHERE grain = CASE WHEN :by::text = 'model' OR :model::text IS NOT NULL THEN 'model' ELSE 'code' END
      AND (:region::text IS NULL OR region = :region) AND (:point::text IS NULL OR point = :point)
      AND (:code::text IS NULL OR value = :code) AND (:model::text IS NULL OR value = :model)
    GROUP BY day, 2, kind
)
SELECT CASE :bucket::text WHEN 'month' THEN to_char(day, 'YYYY-MM') WHEN 'week' THEN to_char(day, 'IYYY-"W"IW')
                          WHEN 'weekday' THEN extract(isodow FROM day)::text ELSE day::text END AS bucket,
       grp, kind, sum(n)::bigint AS n
FROM per_day
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3;

-- name: volume_by_hour
-- How many of each kind per hour of the Korean day (0-23), per group (:by: 'region', 'point' or '').
SELECT hour::text AS bucket,
       CASE :by::text WHEN 'region' THEN region WHEN 'point' THEN point ELSE '' END AS grp,
       kind, sum(n)::bigint AS n
FROM report_volume_hours(:first, :last, :raw)
WHERE (:region::text IS NULL OR region = :region) AND (:point::text IS NULL OR point = :point)
GROUP BY hour, 2, 3
ORDER BY hour, 2, 3;

-- name: top_codes
-- The :limit most frequent codes of :kind in each period bucket (:bucket: 'month' or 'week'; codes
-- tied on the count share a rank, so a bucket may list more than :limit), with
-- the rank and count of the same code in the bucket before (NULL: not counted then, or before the
-- report's first bucket).
WITH per_day AS (
    SELECT day, value AS code, sum(n) AS n
    FROM report_volume(:first, :last, :raw)
    WHERE grain = 'code' AND kind = :kind AND value <> ''
      AND (:region::text IS NULL OR region = :region) AND (:point::text IS NULL OR point = :point)
    GROUP BY day, value
), per AS (
    SELECT CASE :bucket::text WHEN 'week' THEN to_char(day, 'IYYY-"W"IW') ELSE to_char(day, 'YYYY-MM') END AS bucket,
           code, sum(n)::bigint AS n
    FROM per_day
    GROUP BY 1, 2
), ranked AS (
    SELECT per.*, rank() OVER (PARTITION BY bucket ORDER BY n DESC) AS rank,
           dense_rank() OVER (ORDER BY bucket) AS period
    FROM per
)
SELECT r.bucket, r.code, r.n, r.rank, b.n AS previous_n, b.rank AS previous_rank
FROM ranked AS r LEFT JOIN ranked AS b ON b.code = r.code AND b.period = r.period - 1
WHERE r.rank <= :limit
ORDER BY r.bucket, r.rank, r.code;

-- name: survey_comments
-- The newest happy-call comments of the period's tickets, with their score (and the device, for the
-- access log: a comment is the customer's own words).
SELECT s.answered_at, s.score, s.solved, s.flagged, s.comment, f.ticket_id, f.point, f.code, t.device_id
FROM report_tickets(:first, :last, :raw) AS f
JOIN customer_surveys AS s USING (ticket_id)
JOIN tickets AS t USING (ticket_id)
WHERE f.survey_answers > 0 AND s.comment <> ''
  AND (:region::text IS NULL OR f.region = :region) AND (:point::text IS NULL OR f.point = :point)
ORDER BY s.answered_at DESC
LIMIT :limit;

-- name: as_of
SELECT refreshed_at FROM report_rollup_state;

-- name: custom_plans
-- Each report query planned for its values (figures._fetch says why).
SET LOCAL plan_cache_mode = force_custom_plan;
