"""Cold-wave mode: the weather forecast per region and the cold-wave advisories it raises, freeze
preparation sent to the households most at risk before the cold arrives, and area incidents that
hold many boilers failing alike at once as one event.

Owns `weather_forecasts`, `cold_wave_advisories`, `freeze_preparations`, `area_incidents`,
`incident_devices` and `incident_timeline` (migration 0025), which also adds the case status
`incident` (written by the fault engine through this package).
"""
