"""Daily health features per device, and the reads the predictive detectors make over recent data.

A slow fault shows as a drift in a handful of per-day figures (median flame current, fan speed at a
fixed modulation, flue-minus-return, flow-minus-return, pressure at a fixed water temperature, and
the counters). The store computes those once per device and Korean calendar day, when the day is
over, so the detectors read a few weeks of small rows instead of rescanning raw history; SQL does
the work where the data is (ordered-set and regression aggregates in one pass over the day).

The caller owns the transaction. `refresh_health` takes an advisory lock so two workers never
compute the same days; readings that arrive after their day was computed (later than the grace) are
not reflected, a documented limit: devices buffer little, and a detector looks at many days.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from telemetry import named_queries
from telemetry.database import Connection
from telemetry.korean_time import kst_day, kst_day_start

__all__ = [
    "FrostSample",
    "HealthDay",
    "SilentDevice",
    "detector_cursor",
    "devices_with_days_after",
    "frost_samples",
    "health_window",
    "refresh_health",
    "regional_outdoor",
    "set_detector_cursor",
    "silent_devices",
    "stored_since",
]

_POOLED_DAYS: Final = 3
"""Days of heating samples behind each day's fitted lines (see the refresh query)."""
_LOCK_KEY: Final = 0x0D01_0003  # advisory lock of the health refresh (…0001 migrations, …0002 rollup)
_Q: Final = named_queries.load("health").require(
    "refresh_health_day", "health_watermark", "set_health_watermark", "first_reading_since", "try_health_lock",
    "devices_with_days_after", "health_window", "health_window_all", "detector_cursor", "set_detector_cursor", "regional_outdoor",
    "silent_devices", "frost_devices", "frost_window", "fan_lines", "stored_since",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HealthDay:
    device_id: str
    day: date
    samples: int
    firing: int
    outdoor_min: float | None
    outdoor_avg: float | None
    flame_ua_p50: float | None
    fan_intercept: float | None
    fan_slope: float | None
    fan_at50: float | None
    approach_at50: float | None
    spread_at50: float | None
    pressure_at40: float | None
    pressure_min: float | None
    starts_total: int | None
    failed_total: int | None
    flame_losses_total: int | None
    refills_total: int | None
    burner_hours_total: float | None


@dataclass(frozen=True, slots=True)
class SilentDevice:
    device_id: str
    region: str | None
    last_seen: datetime
    last_reading: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class FrostSample:
    device_id: str
    ts: datetime
    fan_rpm: float
    modulation_pct: float
    ch_return_c: float | None
    outdoor_c: float | None
    fan_intercept: float
    fan_slope: float
    line_day: date
    """The newest day of the samples the fan line was fitted on."""


async def refresh_health(
    conn: Connection, *, now: datetime, grace: timedelta = timedelta(hours=1), lookback_days: int = 35
) -> list[date]:
    """Compute the features of every day completed (plus `grace`) since the last refresh; call inside a
    transaction. The first refresh starts at most `lookback_days` back. Returns the days computed."""
    if now.tzinfo is None:
        raise ValueError("now must carry a timezone")
    if not await conn.fetchval(_Q["try_health_lock"], _LOCK_KEY):
        return []
    done: date | None = await conn.fetchval(_Q["health_watermark"])
    last_complete = kst_day(now - grace) - timedelta(days=1)
    if done is None:
        first = await conn.fetchval(_Q["first_reading_since"], now - timedelta(days=lookback_days))
        if first is None:
            return []
        day = kst_day(first)
    else:
        day = done + timedelta(days=1)
    days = []
    while day <= last_complete:
        await conn.execute(
            _Q["refresh_health_day"],
            day,
            kst_day_start(day),
            kst_day_start(day + timedelta(days=1)),
            kst_day_start(day - timedelta(days=_POOLED_DAYS - 1)),
        )
        days.append(day)
        day += timedelta(days=1)
    if days:
        await conn.execute(_Q["set_health_watermark"], days[-1])
    return days


async def devices_with_days_after(conn: Connection, after: date | None, through: date) -> list[str]:
    rows = await conn.fetch(_Q["devices_with_days_after"], after or date.min, through)
    return [str(r["device_id"]) for r in rows]


async def health_window(
    conn: Connection, device_ids: Sequence[str], first: date, last: date
) -> dict[str, list[HealthDay]]:
    """Each device's feature rows from `first` through `last`, oldest first."""
    out: dict[str, list[HealthDay]] = {d: [] for d in device_ids}
    if len(device_ids) > 200:  # most of the fleet: one range scan beats thousands of index probes
        rows = await conn.fetch(_Q["health_window_all"], first, last)
    else:
        rows = await conn.fetch(_Q["health_window"], list(device_ids), first, last)
    for row in rows:
        if (days := out.get(row["device_id"])) is not None:
            days.append(HealthDay(*row.values()))
    return out


async def detector_cursor(conn: Connection, name: str) -> tuple[date | None, datetime | None]:
    row = await conn.fetchrow(_Q["detector_cursor"], name)
    return (None, None) if row is None else (row["through_day"], row["through_ts"])


async def set_detector_cursor(conn: Connection, name: str, *, day: date | None, ts: datetime | None) -> None:
    await conn.execute(_Q["set_detector_cursor"], name, day, ts)


async def regional_outdoor(conn: Connection, since: datetime, until: datetime) -> dict[str, float]:
    """Median outdoor temperature per region, as the region's own boilers measured it."""
    rows = await conn.fetch(_Q["regional_outdoor"], since, until)
    return {str(r["region"]): float(r["outdoor_c"]) for r in rows}


async def silent_devices(conn: Connection, since: datetime, until: datetime) -> list[SilentDevice]:
    """Devices last heard in [since, until): silent at least since `until`."""
    out = []
    for r in await conn.fetch(_Q["silent_devices"], since, until):
        last = r["last_reading"]
        out.append(SilentDevice(r["device_id"], r["region"], r["last_seen"],
                                json.loads(last) if isinstance(last, str) else last))  # fmt: skip
    return out


async def frost_samples(
    conn: Connection, since: datetime, until: datetime, *, max_outdoor_c: float
) -> list[FrostSample]:
    """Heating samples in [since, until) of devices that measured `max_outdoor_c` or colder, each with
    its fan line from its newest complete day of the last two weeks."""
    cold = [r["device_id"] for r in await conn.fetch(_Q["frost_devices"], since, until, max_outdoor_c)]
    if not cold:
        return []
    lines = {r["device_id"]: (float(r["fan_intercept"]), float(r["fan_slope"]), r["day"])
             for r in await conn.fetch(_Q["fan_lines"], cold, kst_day(until))}  # fmt: skip
    return [
        FrostSample(r["device_id"], r["ts"], float(r["fan_rpm"]), float(r["modulation_pct"]), r["ch_return_c"],
                    r["outdoor_c"], *lines[r["device_id"]])
        for r in await conn.fetch(_Q["frost_window"], since, until)
        if r["device_id"] in lines and r["fan_rpm"] is not None
    ]  # fmt: skip


async def stored_since(conn: Connection, since: datetime, until: datetime) -> tuple[int, int]:
    """(readings, events) stored with device time in [since, until]."""
    row = await conn.fetchrow(_Q["stored_since"], since, until)
    assert row is not None
    return int(row["readings"]), int(row["events"])
