"""Pre-season inspection campaigns: ranking, placement, reminders, answers.

- `planner`: the ranking and the placement, pure functions over plain rows.
- `plan`: a season's plan in the store, re-planned daily (`plan_campaign`, `CampaignConfig`).
- `reminders`, `answers`: the reminder waves, and what customers and technicians do with a visit.
- `store`: campaigns and inspections read back, typed, for the planner, the API and the console.
- `jobs`: the scheduled entry points (`CampaignJobs`).
All SQL is in `queries/campaigns.sql`.

Tables (migrations 0014, 0018). Owned here: `campaigns` (one per season, its window and its last
plan run), `inspections` (one per boiler chosen, with its day, slot, score and status) and
`inspection_history` (every change, with the call-center event: both written by the store function
`inspections_changed`, through `plan.record_changes`). In others' tables: the inspection slots of
`service_points` (read through `daily_inspection_slots`), the devices' inspection counters
(`last_inspected_on`, `inspected_burner_hours`, `inspected_starts`: reset here when a visit is
completed; `vulnerable` is set at registration), and the reminder rows of `customer_alerts`
(`inspection_id`, `wave`: written here, sent by the alert worker in `outbox.alerts`). Read only:
`devices`, `device_health_daily` (counter totals), `fault_cases`, `predictions`, `model_warranty`,
`device_contacts`.
"""
