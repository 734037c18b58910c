"""The call-volume forecast: expected inbound calls per region and Korean day, for staffing.

From the calls the call center reported (`inbound_calls`, POST /v1/calls):
- **weekday pattern:** the mean of the same weekday over the last eight weeks, each day first divided
  by its cold effect (so a past cold snap does not inflate an ordinary Monday);
- **month pattern:** the history's days of the forecast day's calendar month against all its days,
  once at least 14 of them are known;
- **cold:** calls rise by `cold_per_degree` for every degree the day's forecast minimum falls below
  `cold_from_c`, fitted from the history (least squares of the ratio to the weekday mean against the
  degrees below), or a default when the history has too few cold days;
- **open incidents:** `per_held_household` calls per boiler an open area incident still holds.

Its error is measured by forecasting each of the last `backtest_days` from the days before it only
(without the incident term, which the past does not record), against what was reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import mean
from typing import Final

from telemetry import named_queries
from telemetry.database import Connection

__all__ = [
    "Backtest", "CallForecast", "CallForecastConfig", "DayForecast", "ReportedCall", "fit_cold", "forecast_calls",
    "forecast_day", "record_calls",
]  # fmt: skip

_Q: Final = named_queries.load("cold_wave", package="diagnostics.cold_wave").require(
    "daily_calls", "daily_minima", "held_now", "record_calls"
)


@dataclass(frozen=True, slots=True)
class CallForecastConfig:
    history_days: int = 56
    cold_from_c: float = -5.0
    cold_per_degree: float = 0.05
    """The default cold effect (5 % more calls per degree below `cold_from_c`) until the history fits one."""
    per_held_household: float = 0.15
    backtest_days: int = 28


@dataclass(frozen=True, slots=True)
class DayForecast:
    day: date
    expected: float
    base: float
    cold: float
    incident: float
    min_c: float | None


@dataclass(frozen=True, slots=True)
class Backtest:
    days: int
    mae: float | None
    """Mean absolute error, calls per day."""
    mape: float | None
    """Mean absolute percentage error over the days with calls."""


@dataclass(frozen=True, slots=True)
class CallForecast:
    region: str
    days: list[DayForecast]
    cold_per_degree: float
    cold_fitted: bool
    backtest: Backtest


def _degrees_below(min_c: float | None, config: CallForecastConfig) -> float:
    return 0.0 if min_c is None else max(0.0, config.cold_from_c - min_c)


def fit_cold(
    history: Mapping[date, int], minima: Mapping[date, float], config: CallForecastConfig
) -> tuple[float, bool]:
    """The cold effect per degree from the history, and whether it was fitted (at least 5 cold days)."""
    by_weekday: dict[int, list[int]] = defaultdict(list)
    for day, calls in history.items():
        if _degrees_below(minima.get(day), config) == 0:
            by_weekday[day.weekday()].append(calls)
    pairs = []
    for day, calls in history.items():
        x = _degrees_below(minima.get(day), config)
        usual = by_weekday.get(day.weekday())
        if x > 0 and usual and mean(usual) > 0:
            pairs.append((x, calls / mean(usual) - 1))
    if len(pairs) < 5:
        return config.cold_per_degree, False
    slope = sum(x * r for x, r in pairs) / sum(x * x for x, _ in pairs)
    return min(max(slope, 0.0), 0.5), True


def forecast_day(
    history: Mapping[date, int], minima: Mapping[date, float], day: date, config: CallForecastConfig,
    cold_per_degree: float, held: int = 0,
) -> DayForecast:  # fmt: skip
    """One day's expected calls from the history strictly before it."""
    past = {d: c for d, c in history.items() if day - timedelta(days=config.history_days) <= d < day}
    plain = {d: c / (1 + cold_per_degree * _degrees_below(minima.get(d), config)) for d, c in past.items()}
    same_weekday = [v for d, v in plain.items() if d.weekday() == day.weekday()]
    base = mean(same_weekday) if same_weekday else (mean(plain.values()) if plain else 0.0)
    in_month = [v for d, v in plain.items() if d.month == day.month]
    if len(in_month) >= 14 and plain and mean(plain.values()) > 0:
        base *= mean(in_month) / mean(plain.values())
    min_c = minima.get(day)
    cold = base * cold_per_degree * _degrees_below(min_c, config)
    incident = held * config.per_held_household
    return DayForecast(
        day, round(base + cold + incident, 1), round(base, 1), round(cold, 1), round(incident, 1), min_c
    )


async def forecast_calls(
    conn: Connection, region: str, *, today: date, days: int, config: CallForecastConfig
) -> CallForecast:
    """The region's forecast from tomorrow for `days` days, learnt from the complete days before today,
    with the backtest of the model on the last of them."""
    first_day = today + timedelta(days=1)
    start = today - timedelta(days=config.history_days + config.backtest_days)
    history = {r["day"]: int(r["calls"])
               for r in await conn.fetch(_Q["daily_calls"], region, start, today - timedelta(days=1))}  # fmt: skip
    minima = {r["day"]: float(r["min_c"]) for r in await conn.fetch(_Q["daily_minima"], start,
                                                                     (first_day - start).days + days)
              if r["region"] == region}  # fmt: skip
    cold_per_degree, fitted = fit_cold(history, minima, config)
    held = int(await conn.fetchval(_Q["held_now"], region))
    ahead = [forecast_day(history, minima, first_day + timedelta(days=i), config, cold_per_degree,
                          held if i == 0 else 0) for i in range(days)]  # fmt: skip
    errors, shares = [], []
    for i in range(config.backtest_days, 0, -1):
        day = today - timedelta(days=i)
        if day not in history or not any(d < day for d in history):
            continue
        predicted = forecast_day(history, minima, day, config, cold_per_degree).expected
        errors.append(abs(predicted - history[day]))
        if history[day] > 0:
            shares.append(abs(predicted - history[day]) / history[day])
    backtest = Backtest(len(errors), round(mean(errors), 2) if errors else None,
                        round(mean(shares), 3) if shares else None)  # fmt: skip
    return CallForecast(region, ahead, round(cold_per_degree, 4), fitted, backtest)


@dataclass(frozen=True, slots=True)
class ReportedCall:
    at: datetime
    region: str | None
    device_id: str | None
    reason: str
    external_id: str | None
    """The call center's own id: a call reported twice is kept once."""


async def record_calls(conn: Connection, calls: Sequence[ReportedCall]) -> int:
    """Keep the reported calls; how many were new."""
    return int(await conn.fetchval(
        _Q["record_calls"], [c.at for c in calls], [c.region for c in calls], [c.device_id for c in calls],
        [c.reason for c in calls], [c.external_id for c in calls],
    ))  # fmt: skip
