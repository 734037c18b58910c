"""The simulated boilers: deterministic, inside the contract, physically sensible, and every fault ends
in its code when left alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from firmware_sim.fault_plan import HARD_CODES, FaultKind, PlannedFault, plan_faults
from firmware_sim.fleet import REGIONS, plan_fleet
from firmware_sim.physics import FleetPhysics
from firmware_sim.weather import simulate_weather
from protocol.contract import TelemetryPayload

START = datetime(2026, 12, 1, tzinfo=UTC)


def _weather(days: float, seed: int = 5, waves: tuple[tuple[datetime, float, float], ...] = ()) -> object:
    return simulate_weather(
        [r.winter_mean_c for r in REGIONS], start=START, days=days, seed=seed, extra_waves=waves
    )


def test_same_seed_same_numbers_whatever_the_stepping() -> None:
    devices = plan_fleet(40, seed=3)
    weather = _weather(3)
    a = FleetPhysics(devices, weather, START, 9)  # type: ignore[arg-type]
    b = FleetPhysics(devices, weather, START, 9)  # type: ignore[arg-type]
    for _ in range(12):
        a.advance(3600)
    for _ in range(12 * 60):
        b.advance(60)
    assert a.now == b.now
    assert a.report_columns(range(40)) == b.report_columns(range(40))
    # Reporting a subset (as a real-time run does, device by device) gives each device the same values.
    one_by_one = [b.report_columns([i])["room_c"][0] for i in range(40)]
    assert one_by_one == a.report_columns(range(40))["room_c"]


def test_reports_fit_the_contract_and_the_physics() -> None:
    devices = plan_fleet(60, seed=4)
    physics = FleetPhysics(devices, _weather(2), START, 1)  # type: ignore[arg-type]
    firing_seen = condensing_seen = 0
    for _ in range(48):
        physics.advance(1800)
        cols = physics.report_columns(range(60))
        for i in range(60):
            values = {k: v[i] for k, v in cols.items() if v[i] is not None}
            TelemetryPayload.model_validate({"seq": 1, "ts": physics.now, **values}, strict=False)
            if values["flame_on"] and values["dhw_flow_lpm"] == 0:
                firing_seen += 1
                assert values["flue_c"] > values["ch_return_c"], (
                    "flue gas leaves above the return temperature"
                )
                assert values["ch_flow_c"] >= values["ch_return_c"] - 1
                assert 1500 <= values["fan_rpm"] <= 6500
                assert values["flame_current_ua"] > 3
                condensing_seen += values["ch_return_c"] < 55
    assert firing_seen > 200
    assert condensing_seen > 0
    rooms = physics.report_columns(range(60))["room_c"]
    assert all(15 < r < 27 for r in rooms), "thermostats keep the rooms near their setpoints"


def test_sealed_loop_pressure_rises_with_water_temperature() -> None:
    devices = [d for d in plan_fleet(40, seed=6) if not d.open_tank]
    physics = FleetPhysics(devices, _weather(1), START, 2)  # type: ignore[arg-type]
    pairs = []
    for _ in range(24):
        physics.advance(3600)
        cols = physics.report_columns(range(len(devices)))
        pairs += [
            ((f + r) / 2, p)
            for f, r, p in zip(cols["ch_flow_c"], cols["ch_return_c"], cols["ch_pressure_bar"], strict=True)
        ]
    hot = [p for t, p in pairs if t > 45]
    cold = [p for t, p in pairs if t < 30]
    assert hot
    assert cold
    assert sum(hot) / len(hot) > sum(cold) / len(cold) + 0.15


@pytest.mark.parametrize("kind", list(FaultKind))
def test_every_fault_left_alone_ends_in_its_code(kind: FaultKind) -> None:
    device = replace(plan_fleet(1, seed=8)[0], region=next(r for r in REGIONS if r.code == "gangwon"))
    cold = ((START + timedelta(days=1), 6.0, 12.0),)
    weather = _weather(12, waves=cold)
    onset = START + timedelta(days=1, hours=6)
    ramp = timedelta(hours=48) if kind is FaultKind.UNPOWERED_FROST else timedelta(days=6)
    fault = PlannedFault(device.device_id, kind, onset, ramp, exposure=1.0)
    physics = FleetPhysics([device], weather, START, 3, [fault])  # type: ignore[arg-type]
    raised = []
    for _ in range(12 * 24):
        raised += [e.code for e in physics.advance(3600) if e.raised]
        if raised:
            break
    outcome = physics.outcomes[0]
    assert raised, f"{kind} never failed"
    assert raised[0] in HARD_CODES[kind]
    assert outcome.failed_at is not None
    assert outcome.failed_at >= onset


def test_fault_plan_is_deterministic_and_respects_the_warmup() -> None:
    devices = plan_fleet(300, seed=2)
    weather = _weather(60, seed=2)
    a = plan_faults(devices, weather, start=START, days=60, seed=2)  # type: ignore[arg-type]
    b = plan_faults(devices, weather, start=START, days=60, seed=2)  # type: ignore[arg-type]
    assert a == b
    assert 50 < len(a) < 130
    assert all(f.onset >= START + timedelta(days=14) for f in a)
    assert len({f.device_id for f in a}) == len(a)


def test_a_repaired_boiler_clears_its_code() -> None:
    devices = plan_fleet(5, seed=8)
    fault = PlannedFault(
        devices[0].device_id, FaultKind.ELECTRODE_WEAR, START + timedelta(hours=1), timedelta(days=2)
    )
    physics = FleetPhysics(devices, _weather(10), START, 4, [fault],  # type: ignore[arg-type]
                           repair_after=(timedelta(hours=12), timedelta(hours=12)))  # fmt: skip
    events = []
    for _ in range(10 * 24):
        events += physics.advance(3600)
    codes = [(e.code, e.raised) for e in events if e.device_index == 0]
    assert codes[:2] == [("E003", True), ("E003", False)]
    assert physics.outcomes[0].repaired_at is not None
    assert len(codes) == 2, "the fault is gone after the repair"
