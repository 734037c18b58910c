"""The time-series store: schema, migrations, batched writes, rollups, retention and queries.

Owns the device registry (devices, device_contacts, regions), what devices report (readings, events,
device_faults, device_state with its offline mark, quarantine), the rollups (readings_hourly,
rollup_invalidation, rollup_watermark), the daily health features (device_health_daily,
health_watermark, detector_cursor) and the event inbox (event_inbox: queued by the ingest, worked by
diagnostics through telemetry.event_inbox). Other features write these tables only through the
functions of this package.
"""
