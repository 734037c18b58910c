"""The weather forecast as a time series, and the cold-wave advisories it raises.

Forecast temperatures come in per region and hour (the KMA's short-term forecast, `kma.py`, or a file
in the same format the simulator writes). A region's Korean day is a cold-wave day when its forecast
minimum is below `min_below_c`, or lower than the day before's by at least `drop_c` (the maker's
thresholds: settings). Each such day is one advisory, updated as later forecasts come in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from diagnostics.cold_wave.kma import ForecastPoint
from telemetry import named_queries
from telemetry.database import Connection

__all__ = [
    "Advisory", "AdvisoryConfig", "ColdDay", "RegionColdWave", "cold_days", "list_advisories", "refresh_advisories",
    "region_overview", "store_forecast",
]  # fmt: skip

_Q: Final = named_queries.load("cold_wave", package="diagnostics.cold_wave").require(
    "daily_minima", "list_advisories", "region_overview", "store_forecast", "upsert_advisory"
)


@dataclass(frozen=True, slots=True)
class AdvisoryConfig:
    min_below_c: float = -12.0
    drop_c: float = 10.0
    horizon_days: int = 3
    """How far ahead (from today, Korean time) advisories are judged."""
    prepare_ahead: timedelta = timedelta(hours=48)
    """Households are prepared when the advisory's day starts within this."""


async def store_forecast(conn: Connection, points: Sequence[ForecastPoint], source: str) -> int:
    """Keep the forecast's points (a point already stored, same issue, is not stored twice); how many given."""
    if points:
        await conn.execute(
            _Q["store_forecast"], [p.region for p in points], [p.kind for p in points], [p.valid_at for p in points],
            [p.issued_at for p in points], [p.temp_c for p in points], [source] * len(points),
        )  # fmt: skip
    return len(points)


@dataclass(frozen=True, slots=True)
class ColdDay:
    region: str
    day: date
    min_c: float
    drop_c: float | None
    reasons: tuple[str, ...]
    """'min_below' and/or 'drop'."""


def cold_days(minima: dict[str, dict[date, float]], config: AdvisoryConfig) -> list[ColdDay]:
    """The cold-wave days among each region's daily minima."""
    found = []
    for region, days in sorted(minima.items()):
        for day in sorted(days):
            low = days[day]
            before = days.get(day - timedelta(days=1))
            drop = None if before is None else before - low
            reasons = tuple(
                reason for reason, hit in (("min_below", low < config.min_below_c),
                                           ("drop", drop is not None and drop >= config.drop_c)) if hit
            )  # fmt: skip
            if reasons:
                found.append(ColdDay(region, day, low, drop, reasons))
    return found


async def refresh_advisories(conn: Connection, config: AdvisoryConfig, today: date) -> list[ColdDay]:
    """Judge the forecast from the day before `today` (for the drop) to the horizon; record each
    cold-wave day as an advisory (updated when the forecast changes). The days that are new."""
    minima: dict[str, dict[date, float]] = defaultdict(dict)
    for row in await conn.fetch(_Q["daily_minima"], today - timedelta(days=1), config.horizon_days + 1):
        minima[row["region"]][row["day"]] = float(row["min_c"])
    new = []
    for day in cold_days(minima, config):
        if day.day < today:
            continue
        upserted = await conn.fetchrow(
            _Q["upsert_advisory"], day.region, day.day, day.min_c, day.drop_c, list(day.reasons)
        )
        if upserted is not None and upserted["new"]:
            new.append(day)
    return new


@dataclass(frozen=True, slots=True)
class Advisory:
    advisory_id: int
    region: str
    day: date
    min_c: float
    drop_c: float | None
    reasons: list[str]
    issued_at: datetime
    prepared_at: datetime | None
    households: int | None
    told: int | None


async def list_advisories(conn: Connection, since: date) -> list[Advisory]:
    return [Advisory(**dict(r)) for r in await conn.fetch(_Q["list_advisories"], since)]


@dataclass(frozen=True, slots=True)
class RegionColdWave:
    """One region in the cold-wave view: who lives there, what is open, what is coming."""

    region: str
    households: int
    vulnerable: int
    open_tickets: int
    urgent_tickets: int
    held: int
    """Boilers held by the region's open area incidents, not yet back."""
    advisory_day: date | None
    advisory_min_c: float | None
    advisory_told: int | None
    at_risk: int


async def region_overview(conn: Connection, today: date) -> list[RegionColdWave]:
    """Regions with a coming cold-wave day first (the coldest first), then the others."""
    return [RegionColdWave(**dict(r)) for r in await conn.fetch(_Q["region_overview"], today)]
