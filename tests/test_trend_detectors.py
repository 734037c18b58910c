"""The slow-fault detectors and their statistics, on made-up days."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from diagnostics.predictive.frost import FrostConfig, condensate_freezing
from diagnostics.predictive.robust_stats import mad_sigma, poisson_sf, theil_sen
from diagnostics.predictive.trends import detect_trends
from telemetry.health_features import FrostSample, HealthDay

DAY0 = date(2026, 12, 1)


def _healthy(days: int, seed: int = 1) -> list[HealthDay]:
    rng = random.Random(seed)
    out = []
    starts = 20_000, 60
    s, f = starts
    for i in range(days):
        s += rng.randint(30, 80)
        f += rng.random() < 0.2
        out.append(HealthDay(
            "d1", DAY0 + timedelta(days=i), 24, 10, -5.0, 0.0, 8 + rng.gauss(0, 0.15), 1700.0, 42.0,
            3800 + rng.gauss(0, 30), 8.0 + rng.gauss(0, 0.3), 12 + rng.gauss(0, 0.4), 1.45 + rng.gauss(0, 0.01),
            1.3, s, f, 4, None, 10_000.0 + i * 6,
        ))  # fmt: skip
    return out


def test_statistics() -> None:
    assert abs(poisson_sf(3, 1.0) - 0.0803) < 1e-3
    assert poisson_sf(0, 5.0) == 1.0
    assert poisson_sf(20, 0.5) < 1e-15
    slope, agreement = theil_sen([(0, 0), (1, 1), (2, 2), (3, 30), (4, 4)])
    assert slope == 1.0, "one wild point does not bend the slope"
    assert agreement > 0.6
    assert abs(mad_sigma([1, 2, 3, 4, 100]) - 1.4826) < 1e-9


def test_a_healthy_boiler_raises_nothing_over_many_windows() -> None:
    for seed in range(40):
        days = _healthy(40, seed)
        for end in range(20, 41):
            assert detect_trends(days[:end]) == [], (seed, end)


def test_one_odd_day_is_not_a_trend() -> None:
    days = _healthy(35)
    days[-1] = replace(days[-1], flame_ua_p50=3.0, fan_at50=4600.0, approach_at50=20.0, pressure_at40=1.0)
    assert detect_trends(days) == []


def test_falling_flame_current_is_found_with_an_eta() -> None:
    days = _healthy(35)
    for k in range(10):
        i = 25 + k
        days[i] = replace(days[i], flame_ua_p50=8 - 0.35 * (k + 1))
    findings = {f.code: f for f in detect_trends(days)}
    assert set(findings) == {"A01"}
    a01 = findings["A01"]
    assert a01.evidence["slope_per_day"] < 0
    assert a01.eta_hours is not None
    assert 24 < a01.eta_hours < 24 * 20
    assert len(a01.evidence["values"]) >= 6


def test_rising_failed_ignitions_are_found() -> None:
    days = _healthy(35)
    for k in range(5):
        i = 30 + k
        extra = 4 * (k + 1)
        for j in range(i, 35):
            days[j] = replace(days[j], failed_total=(days[j].failed_total or 0) + extra)
    codes = [f.code for f in detect_trends(days)]
    assert codes == ["A02"]


def test_pressure_loss_and_fan_creep_are_found() -> None:
    days = _healthy(35)
    for k in range(10):
        i = 25 + k
        days[i] = replace(days[i], pressure_at40=1.45 - 0.03 * (k + 1), fan_at50=3800 * (1 + 0.012 * (k + 1)))
    assert sorted(f.code for f in detect_trends(days)) == ["A09", "A11"]


def _cold_spell(days: list[HealthDay], keep_every: int) -> list[HealthDay]:
    """Days of a cold region: the fan line is fitted only on the days with thawed heating hours."""
    return [d if i % keep_every == 0 else replace(d, fan_at50=None) for i, d in enumerate(days)]


def test_a_flue_narrowing_through_a_cold_spell_is_found_from_few_fitted_days() -> None:
    days = _cold_spell(_healthy(35), keep_every=4)  # 9 fitted days: too few for a baseline of 7
    for k in range(20):
        i = 15 + k
        if days[i].fan_at50 is not None:
            days[i] = replace(days[i], fan_at50=3800 * (1 + 0.012 * (k + 1)))
    days[-1] = replace(days[-1], fan_at50=3800 * 1.24)
    findings = {f.code: f for f in detect_trends(days)}
    assert set(findings) == {"A11"}
    assert findings["A11"].evidence["sparse"] is True
    assert findings["A11"].eta_hours is not None


def test_a_healthy_boiler_through_a_cold_spell_raises_nothing() -> None:
    for seed in range(40):
        days = _cold_spell(_healthy(40, seed), keep_every=3)
        for end in range(15, 41):
            assert detect_trends(days[:end]) == [], (seed, end)


NOW = datetime(2027, 1, 10, 3, 0, tzinfo=UTC)


def _frost(ratios: list[float], line_age_days: int) -> list[FrostSample]:
    """Hourly heating samples of one boiler up to NOW, fan speed `ratio` × its line at 50 %."""
    line_day = (NOW + timedelta(hours=9)).date() - timedelta(days=line_age_days)
    return [
        FrostSample("d1", NOW - timedelta(hours=len(ratios) - 1 - h), 3800.0 * r, 50.0, 45.0, -8.0, 1700.0, 42.0,
                    line_day)
        for h, r in enumerate(ratios)
    ]  # fmt: skip


def test_ice_in_the_condensate_is_found_by_its_speed_and_a_narrowing_flue_is_not() -> None:
    config = FrostConfig()
    steady_high = [1.2] * 6
    # A day-old line: no flue narrows 20 % in a day, but ice does.
    found = condensate_freezing(_frost(steady_high, line_age_days=1), NOW, config)
    assert set(found) == {"d1"}
    assert found["d1"].code == "A12"
    assert found["d1"].evidence["beyond_flue_drift"] is True
    # A line ten days old: a flue narrowing 2 % a day explains 20 %, and nothing rose within hours.
    assert condensate_freezing(_frost(steady_high, line_age_days=10), NOW, config) == {}
    # ...unless the speed climbed within the window itself.
    rising = [1.0, 1.01, 1.0, 1.08, 1.14, 1.2, 1.25]
    found = condensate_freezing(_frost(rising, line_age_days=10), NOW, config)
    assert found["d1"].evidence["rose_within_window"] is True
    # Noise around the line is nothing.
    assert condensate_freezing(_frost([1.03, 0.98, 1.05, 1.01, 1.04], line_age_days=1), NOW, config) == {}
