"""Predictive care: trend and frost detectors that open predicted tickets, and the scoring of them.

- `trends`, `frost`: the detectors, pure functions over rows the store returns.
- `jobs`: the scheduled runs (`run_daily`, `run_frost`) that feed them and open what they find.
- `store` (SQL in `queries/predictions.sql`): what predictive care reads of its own table and others.
- `evaluation`: scores the detectors against the faults a simulated season had (`ondol eval` runs
  the season).

Tables. `predictions` is predictive care's: one row per predicted fault, read here (`store`). It is
*written* by the faults engine, not here: `FaultEngine.open_prediction` inserts the prediction with
its case and ticket in one transaction, and the engine marks it confirmed when the hard fault comes
(statements `insert_prediction`, `confirm_predictions`, `open_prediction_in_family` in
`diagnostics/faults/queries/engine.sql`). A synthetic campaign fleet (`ondol.campaign_fleet`, for
tests and benchmarks) copies some rows in directly.

The daily health features (`device_health_daily`, with `health_watermark`) and the detector cursors
(`detector_cursor`) are computed, read and written through `telemetry.health_features`, for these
jobs (the campaign planner also reads the daily counter totals). `fault_cases` (the engine's) is
read to quiet the trends of a family that just had its hard fault.
"""
