"""`ondol surge` on the real database, small: one incident for the cut, tickets only for the boilers
still failing and the safety codes, no genuine freeze fault swallowed, and a latency measured."""

from __future__ import annotations

from ondol.surge_eval import SurgeConfig, evaluate_surge, format_surge


async def test_a_small_surge_yields_one_incident_and_few_tickets(db_dsn: str) -> None:
    config = SurgeConfig(devices=400, cut=120, still_failing=4, safety_in_cut=2, freeze_faults=10, seed=2)
    report = await evaluate_surge(db_dsn, config)
    assert report.incidents == 1
    assert report.held == config.cut - config.safety_in_cut
    assert report.tickets_after.get("incident.fault_persists") == config.still_failing
    assert report.tickets_after.get("safety_critical") == config.safety_in_cut
    assert report.freeze_held_by_incident == 0
    assert report.freeze_in_told + report.freeze_in_untold == config.freeze_faults
    assert 0 < report.incident_latency_s < 120
    assert report.households == config.devices
    assert "area incidents opened" in format_surge(report)
