"""The pre-season inspection planner on a made-up fleet of 10,000 boilers and 150 service points."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import date, timedelta

import pytest

from diagnostics.campaigns.planner import BoilerRisk, RiskWeights, Window, plan_inspections, risk_of

ON = date(2026, 8, 25)
WINDOW = Window(date(2026, 9, 1), date(2026, 10, 31))


def fleet(devices: int, points: int, seed: int = 1) -> tuple[list[BoilerRisk], dict[str, int]]:
    rng = random.Random(seed)
    capacity = {f"sp-{p:03d}": rng.randint(2, 6) for p in range(points)}
    ids = sorted(capacity)
    boilers = []
    for i in range(devices):
        installed = ON - timedelta(days=rng.randint(100, 16 * 365))
        inspected = rng.choice([None, ON - timedelta(days=rng.randint(200, 1500))])
        boilers.append(BoilerRisk(
            f"dev-{i:06d}", rng.choice(ids), installed, burner_hours_since=rng.uniform(0, 4000),
            starts_since=rng.randint(0, 30_000), faults_past_year=min(rng.getrandbits(3) // 3, 4),
            open_predictions=int(rng.random() < 0.03), warranty_ends=installed + timedelta(days=3 * 365),
            vulnerable=rng.random() < 0.08, last_inspected=inspected,
        ))  # fmt: skip
    return boilers, capacity


def test_no_service_point_is_over_capacity_and_the_riskiest_go_first() -> None:
    boilers, capacity = fleet(10_000, 150)
    plan = plan_inspections(boilers, capacity, WINDOW, on=ON)
    assert plan.considered == 10_000
    assert len(plan.placements) > 5_000, "most of an ageing fleet is worth a visit"
    per_day = Counter((p.point_id, p.day) for p in plan.placements)
    assert all(n <= capacity[point] for (point, _), n in per_day.items())
    days = WINDOW.days()
    assert all(p.day in days for p in plan.placements), "only working days inside the window"
    assert all(p.day.weekday() != 6 for p in plan.placements), "no inspections on Sundays"
    # The top-risk decile of the selected boilers is all scheduled in the first third of the window.
    ranked = sorted(plan.placements, key=lambda p: -p.score)
    top = ranked[: len(ranked) // 10]
    first_third = days[len(days) // 3 - 1]
    assert max(p.day for p in top) <= first_third
    # Within a service point a riskier boiler never waits longer than a less risky one.
    for point in capacity:
        mine = [p for p in plan.placements if p.point_id == point]
        assert all(a.day <= b.day for a, b in itertools.pairwise(mine))


def test_the_same_input_gives_the_same_plan_in_any_order() -> None:
    boilers, capacity = fleet(3_000, 40, seed=2)
    first = plan_inspections(boilers, capacity, WINDOW, on=ON)
    shuffled = boilers[:]
    random.Random(9).shuffle(shuffled)
    assert plan_inspections(shuffled, capacity, WINDOW, on=ON) == first


def test_bookings_keep_their_day_and_use_up_its_slot() -> None:
    boilers, capacity = fleet(2_000, 10, seed=3)
    plan = plan_inspections(boilers, capacity, WINDOW, on=ON)
    low = plan.placements[-1]  # the least risky one moved itself to the window's first day
    booked = {low.device_id: (low.point_id, WINDOW.first)}
    replanned = plan_inspections(boilers, capacity, WINDOW, on=ON, booked=booked)
    mine = next(p for p in replanned.placements if p.device_id == low.device_id)
    assert (mine.day, mine.booked) == (WINDOW.first, True)
    per_day = Counter((p.point_id, p.day) for p in replanned.placements)
    assert per_day[(low.point_id, WINDOW.first)] == capacity[low.point_id]


def test_what_does_not_fit_is_reported_not_dropped() -> None:
    boilers, _ = fleet(500, 2, seed=4)
    tiny = {"sp-000": 1}  # sp-001 has no slots at all
    plan = plan_inspections(boilers, tiny, Window(date(2026, 9, 1), date(2026, 9, 5)), on=ON)
    assert len(plan.placements) == 5  # one a day at the one point that has slots
    selected = len(plan.placements) + len(plan.over_capacity) + len(plan.without_point)
    assert selected == sum(
        1 for b in boilers if risk_of(b, ON, date(2026, 9, 5), RiskWeights())[0] >= RiskWeights().min_score
    )
    assert plan.over_capacity
    assert plan.without_point


def test_each_reason_raises_the_risk_and_is_named() -> None:
    base = BoilerRisk("d", "sp", ON - timedelta(days=365))
    score, _ = risk_of(base, ON, WINDOW.last, RiskWeights())
    for reason, change in [("vulnerable", {"vulnerable": True}), ("predictions", {"open_predictions": 1}),
                           ("faults", {"faults_past_year": 2}), ("burner_hours", {"burner_hours_since": 2000.0}),
                           ("starts", {"starts_since": 15_000}), ("warranty_ending", {"warranty_ends": date(2026, 12, 1)}),
                           ("age", {"installed_on": ON - timedelta(days=3650)})]:  # fmt: skip
        riskier = BoilerRisk(**{**_fields(base), **change})  # type: ignore[arg-type]
        higher, reasons = risk_of(riskier, ON, WINDOW.last, RiskWeights())
        assert higher > score, change
        assert reasons[reason] > 0, (reason, reasons)


def test_a_window_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        Window(date(2026, 10, 31), date(2026, 9, 1))
    with pytest.raises(ValueError, match="working weekday"):
        Window(date(2026, 9, 1), date(2026, 10, 31), frozenset())


def _fields(b: BoilerRisk) -> dict[str, object]:
    return {name: getattr(b, name) for name in BoilerRisk.__slots__}


def test_nothing_is_placed_before_the_planning_day() -> None:
    """Planning inside the window proposes no day that has passed, even with no notice asked for."""
    boilers, capacity = fleet(2_000, 20)
    mid_window = date(2026, 9, 20)
    plan = plan_inspections(boilers, capacity, WINDOW, on=mid_window)
    assert plan.placements
    assert min(p.day for p in plan.placements) >= mid_window
    early = plan_inspections(boilers, capacity, WINDOW, on=mid_window, from_day=date(2026, 9, 2))
    assert min(p.day for p in early.placements) >= mid_window, "a from_day before the planning day"
