-- Pre-season inspection campaigns (migration 0014): planning, reminders, answers, visits.

-- name: lock_campaign
-- Held for the transaction by whoever changes a season's plan (planner runs, customer answers),
-- so two planners make one plan and an answer never races a re-plan for the same slot.
SELECT pg_advisory_xact_lock(hashtext('ondol.inspection_campaign'), $1);

-- name: create_campaign
INSERT INTO campaigns (season, first_day, last_day, weekdays, planned_at, changed_at, plan_runs)
VALUES (:season, :first_day, :last_day, :weekdays, :now, :now, 0)
ON CONFLICT (season) DO NOTHING;

-- name: campaign_by_season
SELECT campaign_id, season, first_day, last_day, weekdays, created_at, planned_at, changed_at, plan_runs,
       considered, over_capacity, without_point
FROM campaigns WHERE season = $1;

-- name: campaign_by_id
SELECT campaign_id, season, first_day, last_day, weekdays, created_at, planned_at, changed_at, plan_runs,
       considered, over_capacity, without_point
FROM campaigns WHERE campaign_id = $1;

-- name: campaign_of_inspection
SELECT campaign_id, season, first_day, last_day, weekdays, created_at, planned_at, changed_at, plan_runs,
       considered, over_capacity, without_point
FROM campaigns WHERE campaign_id = (SELECT campaign_id FROM inspections WHERE inspection_id = $1);

-- name: list_campaigns
-- Every campaign, newest season first, with its inspections counted by status.
SELECT c.campaign_id, c.season, c.first_day, c.last_day, c.weekdays, c.created_at, c.planned_at, c.changed_at,
       c.plan_runs, c.considered, c.over_capacity, c.without_point, coalesce(s.counts, '{}'::jsonb) AS counts
FROM campaigns AS c
LEFT JOIN LATERAL (
    SELECT jsonb_object_agg(status, n) AS counts
    FROM (SELECT status, count(*) AS n FROM inspections WHERE campaign_id = c.campaign_id GROUP BY status) AS x
) AS s ON true
ORDER BY c.season DESC;

-- name: plan_candidates
-- What the ranking needs of every registered boiler on day $1: counters since its last inspection
-- (the newest daily totals minus the totals recorded at the inspection), cases in the year before
-- $2, open predictions.
SELECT d.device_id, d.model, d.region, d.latitude, d.longitude, d.installed_on, d.vulnerable,
       d.last_inspected_on,
       greatest(coalesce(h.burner_hours_total, 0) - coalesce(d.inspected_burner_hours, 0), 0) AS burner_hours_since,
       greatest(coalesce(h.starts_total, 0) - coalesce(d.inspected_starts, 0), 0) AS starts_since,
       coalesce(f.cases, 0) AS faults_past_year,
       coalesce(p.open, 0) AS open_predictions
FROM devices AS d
LEFT JOIN LATERAL (
    SELECT burner_hours_total, starts_total FROM device_health_daily
    WHERE device_id = d.device_id AND day <= $1 AND burner_hours_total IS NOT NULL
    ORDER BY day DESC LIMIT 1
) AS h ON true
LEFT JOIN (
    SELECT device_id, count(*) AS cases FROM fault_cases WHERE first_raised_at >= $2 GROUP BY device_id
) AS f ON f.device_id = d.device_id
LEFT JOIN (
    SELECT device_id, count(*) AS open FROM predictions WHERE status = 'open' GROUP BY device_id
) AS p ON p.device_id = d.device_id
ORDER BY d.device_id;

-- name: warranty_years
SELECT model, years FROM model_warranty;

-- name: inspection_slots
-- Inspection visits per day of each service point (daily_inspection_slots, migration 0018: the one
-- definition the planner, the answers and the campaign page share).
SELECT point_id, name, region, daily_inspection_slots(sp) AS slots FROM service_points AS sp;

-- name: point_inspection_slots
SELECT daily_inspection_slots(sp) FROM service_points AS sp WHERE point_id = $1;

-- name: campaign_state
-- The inspections of campaign $1 as the planner needs them (the reasons as stored: JSON, decoded
-- only when compared).
SELECT inspection_id, device_id, point_id, day, score, risk_rank, reasons AS reasons_json, status, reminders
FROM inspections WHERE campaign_id = $1;

-- name: lapse_unanswered
-- Reminded inspections whose day is before $2 and nobody answered; the call center hears of it.
-- (A proposal nobody was told of is placed again instead.)
UPDATE inspections SET status = 'lapsed', updated_at = clock_timestamp()
WHERE campaign_id = $1 AND status = 'proposed' AND reminders > 0 AND day < $2
RETURNING inspection_id;

-- name: insert_inspections
-- New placements of a campaign (one array element per inspection); a device whose inspection was
-- withdrawn is proposed again on its row.
INSERT INTO inspections AS i (campaign_id, device_id, point_id, day, score, risk_rank, reasons)
SELECT :campaign_id, x.device_id, x.point_id, x.day, x.score, x.risk_rank, x.reasons
FROM unnest(:device_ids::text[], :point_ids::text[], :days::date[], :scores::float8[], :ranks::int[],
            :reasons::jsonb[])
    AS x(device_id, point_id, day, score, risk_rank, reasons)
ON CONFLICT (campaign_id, device_id) DO UPDATE
    SET point_id = EXCLUDED.point_id, day = EXCLUDED.day, score = EXCLUDED.score,
        risk_rank = EXCLUDED.risk_rank, reasons = EXCLUDED.reasons, status = 'proposed', reminders = 0,
        reminded_at = NULL, followed_up_at = NULL, answered_at = NULL, updated_at = clock_timestamp()
    WHERE i.status = 'withdrawn'
RETURNING i.inspection_id;

-- name: move_inspections
-- Proposed inspections nobody has been told of yet, placed on another day or point.
UPDATE inspections AS i
SET point_id = x.point_id, day = x.day, score = x.score, risk_rank = x.risk_rank, reasons = x.reasons,
    updated_at = clock_timestamp()
FROM unnest(:inspection_ids::bigint[], :point_ids::text[], :days::date[], :scores::float8[], :ranks::int[],
            :reasons::jsonb[])
    AS x(inspection_id, point_id, day, score, risk_rank, reasons)
WHERE i.inspection_id = x.inspection_id AND i.status = 'proposed' AND i.reminders = 0
RETURNING i.inspection_id;

-- name: rescore_inspections
-- Same day and point, new score or rank: nothing to tell anyone.
UPDATE inspections AS i
SET score = x.score, risk_rank = x.risk_rank, reasons = x.reasons, updated_at = clock_timestamp()
FROM unnest(:inspection_ids::bigint[], :scores::float8[], :ranks::int[], :reasons::jsonb[])
    AS x(inspection_id, score, risk_rank, reasons)
WHERE i.inspection_id = x.inspection_id;

-- name: withdraw_inspections
-- Proposed inspections nobody has been told of, no longer selected or no longer fitting.
UPDATE inspections SET status = 'withdrawn', updated_at = clock_timestamp()
WHERE inspection_id = ANY($1::bigint[]) AND status = 'proposed' AND reminders = 0
RETURNING inspection_id;

-- name: finish_plan_run
UPDATE campaigns
SET planned_at = :now, plan_runs = plan_runs + 1, changed_at = CASE WHEN :changed THEN :now ELSE changed_at END,
    considered = :considered, over_capacity = :over_capacity, without_point = :without_point
WHERE campaign_id = :campaign_id;

-- name: due_reminders
-- Up to :batch inspections of the campaign that have had :wave reminders: for the first reminder,
-- proposed ones whose day is on or before :day_by; for a follow-up, those reminded on or before
-- :reminded_by and unanswered; either way with the day still ahead (from :day_from). Locked, so two
-- workers never remind the same inspection.
SELECT i.inspection_id, i.device_id, i.day, i.reasons, i.point_id, sp.name AS point_name,
       sp.name_en AS point_name_en
FROM inspections AS i JOIN service_points AS sp ON sp.point_id = i.point_id
WHERE i.campaign_id = :campaign_id AND i.status = 'proposed' AND i.reminders = :wave
  AND ((:wave = 0 AND i.day <= :day_by) OR (:wave > 0 AND i.reminded_at <= :reminded_by))
  AND i.day >= :day_from
ORDER BY i.day, i.risk_rank
LIMIT :batch
FOR UPDATE OF i SKIP LOCKED;

-- name: reminder_contacts
-- Who hears of an inspection: the contacts the first wave of any alert reaches.
SELECT contact_id, device_id, name, phone, preferred_channel
FROM device_contacts
WHERE device_id = ANY($1::text[]) AND escalation_rank = 0
ORDER BY device_id, contact_id;

-- name: insert_reminders
-- One alert per inspection, contact and wave, however often this runs.
INSERT INTO customer_alerts (device_id, contact_id, phone, channel, kind, code, inspection_id, wave,
                             message_ko, message_en, not_before)
SELECT * FROM unnest(:device_ids::text[], :contact_ids::bigint[], :phones::text[], :channels::text[], :kinds::text[],
                     :codes::text[], :inspection_ids::bigint[], :waves::smallint[], :messages_ko::text[],
                     :messages_en::text[], :not_before::timestamptz[])
ON CONFLICT (inspection_id, contact_id, wave) WHERE inspection_id IS NOT NULL DO NOTHING;

-- name: mark_reminded
-- The inspections of $1 reminded (wave $2) at $3.
UPDATE inspections
SET reminders = $2 + 1, reminded_at = CASE WHEN $2 = 0 THEN $3 ELSE reminded_at END,
    followed_up_at = CASE WHEN $2 > 0 THEN $3 ELSE followed_up_at END, updated_at = clock_timestamp()
WHERE inspection_id = ANY($1::bigint[]) AND reminders = $2
RETURNING inspection_id;

-- name: inspection_for_update
SELECT inspection_id, campaign_id, device_id, point_id, day, score, risk_rank, reasons, status, reminders,
       reminded_at, followed_up_at, answered_at, completed_at, created_at, updated_at
FROM inspections WHERE inspection_id = $1
FOR UPDATE;

-- name: booked_on
-- Inspections holding a slot at the point on the day in the campaign, other than the one moving.
SELECT count(*) FROM inspections
WHERE campaign_id = :campaign_id AND point_id = :point_id AND day = :day AND inspection_id <> :inspection_id
  AND status IN ('proposed', 'accepted', 'rescheduled');

-- name: booked_days
-- Slots taken per day at point $2 in campaign $1 from day $3 (for proposing free days).
SELECT day, count(*) AS taken FROM inspections
WHERE campaign_id = $1 AND point_id = $2 AND day >= $3 AND status IN ('proposed', 'accepted', 'rescheduled')
GROUP BY day;

-- name: answer_inspection
-- The customer's answer ($2 status, $3 day).
UPDATE inspections SET status = $2, day = $3, answered_at = clock_timestamp(), updated_at = clock_timestamp()
WHERE inspection_id = $1
RETURNING inspection_id, campaign_id, device_id, point_id, day, score, risk_rank, reasons, status, reminders,
          reminded_at, followed_up_at, answered_at, completed_at, created_at, updated_at;

-- name: complete_inspection
UPDATE inspections SET status = 'completed', day = $3, completed_at = $2, updated_at = clock_timestamp()
WHERE inspection_id = $1
RETURNING inspection_id, campaign_id, device_id, point_id, day, score, risk_rank, reasons, status, reminders,
          reminded_at, followed_up_at, answered_at, completed_at, created_at, updated_at;

-- name: newest_counters
-- The device's newest daily counter totals (what an inspection resets "since" to, when the
-- technician did not read them off the boiler).
SELECT burner_hours_total, starts_total FROM device_health_daily
WHERE device_id = $1 AND burner_hours_total IS NOT NULL
ORDER BY day DESC LIMIT 1;

-- name: reset_inspection_counters
UPDATE devices
SET last_inspected_on = :on, inspected_burner_hours = :burner_hours, inspected_starts = :starts,
    updated_at = clock_timestamp()
WHERE device_id = :device_id;

-- name: inspection_history
SELECT action, day, actor, note, at FROM inspection_history WHERE inspection_id = $1 ORDER BY history_id;

-- name: list_inspections
-- Inspections of a campaign in day, risk order, after the keyset (:after_day, :after_rank,
-- :after_id) of the previous page; each filter optional (null: any).
SELECT i.inspection_id, i.campaign_id, i.device_id, i.point_id, i.day, i.score, i.risk_rank, i.reasons, i.status,
       i.reminders, i.reminded_at, i.followed_up_at, i.answered_at, i.completed_at, i.created_at, i.updated_at,
       sp.name AS point_name, d.region, d.vulnerable
FROM inspections AS i
JOIN service_points AS sp ON sp.point_id = i.point_id
JOIN devices AS d ON d.device_id = i.device_id
WHERE i.campaign_id = :campaign_id
  AND (:point_id::text IS NULL OR i.point_id = :point_id)
  AND (:status::text IS NULL OR i.status = :status)
  AND (:first_day::date IS NULL OR i.day >= :first_day)
  AND (:last_day::date IS NULL OR i.day <= :last_day)
  AND (:device_id::text IS NULL OR i.device_id = :device_id)
  AND (:after_day::date IS NULL OR (i.day, i.risk_rank, i.inspection_id) > (:after_day, :after_rank, :after_id))
ORDER BY i.day, i.risk_rank, i.inspection_id
LIMIT :limit;

-- name: inspection_view
SELECT i.inspection_id, i.campaign_id, i.device_id, i.point_id, i.day, i.score, i.risk_rank, i.reasons, i.status,
       i.reminders, i.reminded_at, i.followed_up_at, i.answered_at, i.completed_at, i.created_at, i.updated_at,
       sp.name AS point_name, d.region, d.vulnerable
FROM inspections AS i
JOIN service_points AS sp ON sp.point_id = i.point_id
JOIN devices AS d ON d.device_id = i.device_id
WHERE i.inspection_id = $1;

-- name: record_changes
-- History lines and call-center events for the inspections $1 that just changed ($2 the action).
SELECT inspections_changed($1::bigint[], $2, $3, $4);

-- name: plan_grid
-- Campaign $1's inspections counted per service point, day and status (withdrawn ones left out);
-- $2 one service point or all.
SELECT i.point_id, sp.name AS point_name, sp.name_en AS point_name_en, daily_inspection_slots(sp) AS slots,
       i.day, i.status, count(*) AS n
FROM inspections AS i
JOIN service_points AS sp ON sp.point_id = i.point_id
WHERE i.campaign_id = $1 AND i.status <> 'withdrawn' AND ($2::text IS NULL OR i.point_id = $2)
GROUP BY i.point_id, sp.point_id, i.day, i.status
ORDER BY i.point_id, i.day, i.status;

-- name: next_inspection_of_device
-- The device's next planned inspection on or after day $2 that is still going to happen.
SELECT i.inspection_id, c.season, i.day, i.status, i.point_id AS service_point_id, sp.name AS service_point_name,
       sp.name_en AS service_point_name_en
FROM inspections AS i
JOIN campaigns AS c ON c.campaign_id = i.campaign_id
JOIN service_points AS sp ON sp.point_id = i.point_id
WHERE i.device_id = $1 AND i.status IN ('proposed', 'accepted', 'rescheduled') AND i.day >= $2
ORDER BY i.day
LIMIT 1;
