"""The call-volume forecast: weekday pattern, the cold effect fitted from history, open incidents, and
its error measured by backtest; calls reported through the API, each kept once."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from diagnostics.cold_wave.call_volume import CallForecastConfig, fit_cold, forecast_day
from diagnostics.cold_wave.forecasts import store_forecast
from diagnostics.cold_wave.kma import ForecastPoint
from telemetry.korean_time import KST, kst_day
from testbed.support import ApiClient, seed_points

CONFIG = CallForecastConfig()
MONDAY = date(2026, 12, 14)


def _history(days: int, *, cold: dict[date, float] | None = None) -> dict[date, int]:
    """Mondays 100 calls, other days 50; a cold day adds 5 % per degree below -5 °C."""
    cold = cold or {}
    history = {}
    for i in range(1, days + 1):
        day = MONDAY - timedelta(days=i)
        base = 100 if day.weekday() == 0 else 50
        history[day] = round(base * (1 + 0.05 * max(0.0, -5.0 - cold.get(day, 0.0))))
    return history


def test_the_weekday_pattern_carries_the_forecast() -> None:
    history = _history(56)
    assert forecast_day(history, {}, MONDAY, CONFIG, 0.05).expected == pytest.approx(100)
    assert forecast_day(history, {}, MONDAY + timedelta(days=1), CONFIG, 0.05).expected == pytest.approx(50)


def test_the_cold_effect_is_fitted_from_past_cold_days_and_applied_to_a_cold_forecast() -> None:
    cold = {MONDAY - timedelta(days=i): -15.0 for i in (3, 5, 9, 12, 20, 30)}
    history = _history(56, cold=cold)
    k, fitted = fit_cold(history, cold, CONFIG)
    assert fitted
    assert k == pytest.approx(0.05, abs=0.005)
    day = forecast_day(history, {MONDAY: -15.0}, MONDAY, CONFIG, k)
    assert day.base == pytest.approx(100, abs=1), "past cold days do not inflate the weekday base"
    assert day.expected == pytest.approx(150, abs=3)
    assert fit_cold(_history(56), {}, CONFIG) == (CONFIG.cold_per_degree, False), "no cold days: the default"
    assert forecast_day(history, {}, MONDAY, CONFIG, k, held=100).incident == pytest.approx(15)


async def test_calls_reported_through_the_api_feed_a_forecast_with_its_measured_error(
    db: asyncpg.Connection, db_dsn: str
) -> None:
    await seed_points(db)
    today = kst_day(datetime.now(UTC))
    rng = random.Random(5)
    calls = []
    for i in range(1, 57):
        day = today - timedelta(days=i)
        for n in range(rng.randint(8, 12) * (2 if day.weekday() == 0 else 1)):
            at = datetime(day.year, day.month, day.day, 10, tzinfo=KST) + timedelta(minutes=n)
            calls.append({"at": at.isoformat(), "region": "서울", "external_id": f"c-{i}-{n}"})
    tomorrow = today + timedelta(days=1)
    async with db.transaction():
        await store_forecast(db, [ForecastPoint("seoul", datetime.now(UTC), datetime(tomorrow.year, tomorrow.month,
                                                tomorrow.day, 6, tzinfo=KST), "TMN", -15.0)], "file")  # fmt: skip
    async with ApiClient(db_dsn, role="agent") as agent:
        sent = await agent.post("/v1/calls", json={"calls": calls})
        assert sent.status_code == 200, sent.text
        assert sent.json() == {"received": len(calls), "new": len(calls)}
        again = await agent.post("/v1/calls", json={"calls": calls[:10]})
        assert again.json() == {"received": 10, "new": 0}, "a call reported twice is kept once"
        bad = await agent.post(
            "/v1/calls", json={"calls": [{"at": "2026-12-01T10:00:00+09:00", "region": "Atlantis"}]}
        )
        assert bad.status_code == 422
        answer = await agent.get("/v1/call-forecast", params={"region": "seoul", "days": 2})
        assert answer.status_code == 200, answer.text
        forecast = answer.json()
    first = forecast["days"][0]
    assert first["min_c"] == -15.0
    assert first["cold"] == pytest.approx(first["base"] * 0.05 * 10, abs=0.2), "the default cold effect"
    assert forecast["backtest"]["days"] == 28
    assert 0 < forecast["backtest"]["mape"] < 0.5
