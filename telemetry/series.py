"""Bucketed telemetry of one device, read from the hourly rollup where it is complete and raw readings elsewhere.

A call-center chart over weeks must not scan every raw reading, so buckets that are whole hours take
the hours before the rollup watermark from `readings_hourly` and only the rest from `readings`. Both
sources return sums, counts, minima and maxima, which combine exactly whichever way a bucket is split
between them; averages are taken only at the end. The caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from telemetry import named_queries
from telemetry.database import Connection
from telemetry.readings import MEASUREMENT_COLUMNS

__all__ = [
    "NUMERIC_FIELDS",
    "BucketRow",
    "FieldStats",
    "SeriesSource",
    "bucketed",
    "source_for",
    "summary",
]

NUMERIC_FIELDS: Final[tuple[str, ...]] = tuple(
    c for c in MEASUREMENT_COLUMNS if c not in ("water_level_low", "flame_on", "mode")
)
"""The measurements that have an average, minimum and maximum (those of `readings_hourly`)."""

SeriesSource = Literal["raw", "rollup+raw"]

_HOUR: Final = timedelta(hours=1)
_EPOCH: Final = datetime(2000, 1, 1, tzinfo=UTC)

_Q: Final = named_queries.load("series").require("rollup_split", "raw_buckets", "rollup_buckets")


@dataclass(frozen=True, slots=True)
class FieldStats:
    """One field over one bucket; avg, min and max are None when the field had no value in it."""

    avg: float | None
    min: float | None
    max: float | None
    count: int


@dataclass(frozen=True, slots=True)
class BucketRow:
    bucket_start: datetime
    n: int
    """Readings in the bucket."""
    values: dict[str, FieldStats]
    """One entry per requested field, in the order requested."""


@dataclass(slots=True)
class _Partial:
    """Sums, counts, minima and maxima of one bucket, still open to merging."""

    n: int
    sums: dict[str, float | None]
    counts: dict[str, int]
    mins: dict[str, float | None]
    maxs: dict[str, float | None]

    def merge(self, other: _Partial) -> None:
        self.n += other.n
        for f in self.counts:
            self.sums[f] = _add(self.sums[f], other.sums[f])
            self.counts[f] += other.counts[f]
            self.mins[f] = _pick(min, self.mins[f], other.mins[f])
            self.maxs[f] = _pick(max, self.maxs[f], other.maxs[f])


def source_for(bucket: timedelta) -> SeriesSource:
    """Where buckets of this width are read from: whole hours may use the hourly rollup."""
    return "rollup+raw" if bucket >= _HOUR and bucket % _HOUR == timedelta(0) else "raw"


async def bucketed(
    conn: Connection,
    *,
    device_id: str,
    start: datetime,
    end: datetime,
    bucket: timedelta,
    fields: Sequence[str],
) -> list[BucketRow]:
    """Buckets (aligned by `time_bucket`) holding readings with start <= ts < end, oldest first; empty ones are left out."""
    _check_arguments(start, end, bucket, fields)
    partials: dict[datetime, _Partial] = {}
    for source, lo, hi in await _plan(conn, start=start, end=end, bucket=bucket):
        query = _Q["rollup_buckets"] if source == "rollup" else _Q["raw_buckets"]
        rows = await conn.fetch(query, device_id, lo, hi, bucket)
        _accumulate(partials, rows, fields)
    return [_finish(at, partials[at], fields) for at in sorted(partials)]


async def summary(
    conn: Connection, *, device_id: str, start: datetime, end: datetime, fields: Sequence[str]
) -> tuple[int, dict[str, FieldStats]]:
    """Readings between start and end, and each field's average, minimum and maximum over them
    (hourly buckets merged, so finished hours come from the rollup)."""
    rows = await bucketed(
        conn, device_id=device_id, start=start, end=end, bucket=timedelta(hours=1), fields=fields
    )
    merged: dict[str, FieldStats] = {}
    for name in fields:
        stats = [row.values[name] for row in rows if row.values[name].count]
        count = sum(s.count for s in stats)
        total = sum((s.avg or 0.0) * s.count for s in stats)
        merged[name] = FieldStats(
            avg=total / count if count else None,
            min=min((s.min for s in stats if s.min is not None), default=None),
            max=max((s.max for s in stats if s.max is not None), default=None),
            count=count,
        )
    return sum(row.n for row in rows), merged


def _check_arguments(start: datetime, end: datetime, bucket: timedelta, fields: Sequence[str]) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must carry a timezone")
    if start >= end:
        raise ValueError("start must be before end")
    if bucket <= timedelta(0):
        raise ValueError("bucket must be positive")
    unknown = [f for f in fields if f not in NUMERIC_FIELDS]
    if unknown:
        raise ValueError(f"unknown fields {unknown}")


async def _plan(
    conn: Connection, *, start: datetime, end: datetime, bucket: timedelta
) -> list[tuple[Literal["raw", "rollup"], datetime, datetime]]:
    """The time ranges to read and from where: the rollup for whole hours before the watermark."""
    if source_for(bucket) == "raw":
        return [("raw", start, end)]
    split = await conn.fetchval(_Q["rollup_split"], start, end)
    rollup_from = _ceil_hour(start)
    rollup_to = _floor_hour(min(end, split if split is not None else start))
    if rollup_from >= rollup_to:
        return [("raw", start, end)]
    plan: list[tuple[Literal["raw", "rollup"], datetime, datetime]] = [("rollup", rollup_from, rollup_to)]
    if start < rollup_from:
        plan.append(("raw", start, rollup_from))
    if rollup_to < end:
        plan.append(("raw", rollup_to, end))
    return plan


def _floor_hour(t: datetime) -> datetime:
    return _EPOCH + (t - _EPOCH) // _HOUR * _HOUR


def _ceil_hour(t: datetime) -> datetime:
    floor = _floor_hour(t)
    return floor if floor == t else floor + _HOUR


def _accumulate(partials: dict[datetime, _Partial], rows: Iterable[Any], fields: Sequence[str]) -> None:
    for row in rows:
        part = _Partial(
            n=int(row["n"]),
            sums={f: row[f"{f}_sum"] for f in fields},
            counts={f: int(row[f"{f}_cnt"] or 0) for f in fields},
            mins={f: _float(row[f"{f}_min"]) for f in fields},
            maxs={f: _float(row[f"{f}_max"]) for f in fields},
        )
        seen = partials.get(row["bucket_start"])
        if seen is None:
            partials[row["bucket_start"]] = part
        else:
            seen.merge(part)


def _finish(at: datetime, part: _Partial, fields: Sequence[str]) -> BucketRow:
    values = {}
    for f in fields:
        count, total = part.counts[f], part.sums[f]
        avg = total / count if count and total is not None else None
        values[f] = FieldStats(avg=avg, min=part.mins[f], max=part.maxs[f], count=count)
    return BucketRow(bucket_start=at, n=part.n, values=values)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _add(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _pick(choose: Callable[[float, float], float], a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return choose(a, b)
