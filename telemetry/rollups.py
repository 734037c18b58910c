"""Keeps the hourly rollup complete and applies retention, for the Apache edition of TimescaleDB.

Without continuous aggregates or background policies the store does this work itself from a
maintenance job. `refresh_hourly` recomputes whole hours from raw readings up to the start of the
current hour, moves the watermark there (readers take hours before it from the rollup), and
recomputes hours that late readings invalidated below it. The work is split into statements of at
most one day, so a first refresh over months of history is many modest statements, not one huge one.

The caller owns the transaction: the advisory lock that keeps two workers from refreshing at once
lasts until it ends, and the watermark, the rollup rows and the cleared invalidations commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from telemetry import named_queries
from telemetry.database import Connection

__all__ = [
    "RefreshResult",
    "RetentionResult",
    "RollupManagedByServerError",
    "apply_retention",
    "refresh_hourly",
]

_REFRESH_LOCK_KEY: Final = 0x0D01_0002  # advisory lock id of the hourly refresh (0x0D01_0001: migrations)
_HOUR: Final = timedelta(hours=1)
_MAX_STATEMENT_SPAN: Final = timedelta(days=1)

_REFRESH: Final = named_queries.load("rollup_refresh").require("refresh_hourly")
_Q: Final = named_queries.load("maintenance").require(
    "try_refresh_lock", "refresh_state", "pending_invalidations", "advance_watermark",
    "clear_invalidations", "drop_reading_chunks", "drop_event_chunks", "drop_rollup_chunks",
    "purge_quarantine",
)  # fmt: skip

_Range = tuple[datetime, datetime]


class RollupManagedByServerError(RuntimeError):
    """readings_hourly is a continuous aggregate here: TimescaleDB refreshes it, not this job."""


@dataclass(frozen=True, slots=True)
class RefreshResult:
    skipped: bool
    """True when another worker held the refresh lock; nothing was done."""
    watermark: datetime | None
    """The watermark after this refresh, or None when it was not set (no readings yet)."""
    hours_from: datetime | None
    """The oldest hour recomputed, or None when nothing was."""
    statements: int
    """Refresh statements run (each covers at most one day)."""
    hourly_rows: int
    """Rollup rows written."""
    invalidations_cleared: int


@dataclass(frozen=True, slots=True)
class RetentionResult:
    reading_chunks: int
    event_chunks: int
    rollup_chunks: int
    quarantine_rows: int


async def refresh_hourly(conn: Connection, *, now: datetime) -> RefreshResult:
    """Recompute pending whole hours before the hour of `now`; call inside a transaction."""
    if now.tzinfo is None:
        raise ValueError("now must carry a timezone")
    if not conn.is_in_transaction():
        raise RuntimeError(
            "refresh_hourly must run inside a transaction (its lock lasts until the transaction ends)"
        )
    if not await conn.fetchval(_Q["try_refresh_lock"], _REFRESH_LOCK_KEY):
        return RefreshResult(True, None, None, 0, 0, 0)
    state = await conn.fetchrow(_Q["refresh_state"])
    if state is None:
        raise RuntimeError("rollup_watermark has no row for readings_hourly: is the schema migrated?")
    if state["server_managed"]:
        raise RollupManagedByServerError("readings_hourly is maintained by TimescaleDB on this server")
    end = _floor_hour(now)
    resume_from: datetime | None = state["resume_from"]
    max_id: int | None = state["max_invalidation_id"]
    ranges = await _pending_ranges(conn, max_id=max_id, resume_from=resume_from, end=end)
    statements, rows = await _recompute(conn, ranges)
    watermark: datetime | None = None
    if resume_from is not None:
        watermark = await conn.fetchval(_Q["advance_watermark"], end)
    cleared = int(await conn.fetchval(_Q["clear_invalidations"], max_id)) if max_id is not None else 0
    hours_from = ranges[0][0] if ranges else None
    return RefreshResult(False, watermark, hours_from, statements, rows, cleared)


async def _pending_ranges(
    conn: Connection, *, max_id: int | None, resume_from: datetime | None, end: datetime
) -> list[_Range]:
    """The hours to recompute: invalidated ones and those from the watermark on, merged, before `end`."""
    ranges: list[_Range] = []
    if max_id is not None:
        rows = await conn.fetch(_Q["pending_invalidations"], max_id)
        ranges.extend((r["low"], r["high"]) for r in rows)
    if resume_from is not None:
        ranges.append((resume_from, end))
    return _merge([(lo, min(hi, end)) for lo, hi in ranges if lo < min(hi, end)])


def _merge(ranges: list[_Range]) -> list[_Range]:
    merged: list[_Range] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


async def _recompute(conn: Connection, ranges: list[_Range]) -> tuple[int, int]:
    """Run `refresh_hourly` over `ranges` a day at most at a time; return (statements, rows written)."""
    statements = rows = 0
    for lo, hi in ranges:
        at = lo
        while at < hi:
            step_end = min(at + _MAX_STATEMENT_SPAN, hi)
            status = await conn.execute(_REFRESH["refresh_hourly"], at, step_end)
            rows += int(status.rsplit(" ", 1)[-1])
            statements += 1
            at = step_end
    return statements, rows


def _floor_hour(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


async def apply_retention(
    conn: Connection, *, raw_days: int, event_days: int, rollup_days: int, quarantine_days: int
) -> RetentionResult:
    """Drop raw readings, events and rollup chunks, and quarantine rows, older than their periods."""
    for name, days in (("raw_days", raw_days), ("event_days", event_days), ("rollup_days", rollup_days),
                       ("quarantine_days", quarantine_days)):  # fmt: skip
        if days < 1:
            raise ValueError(f"{name} must be at least 1, not {days}")
    return RetentionResult(
        reading_chunks=int(await conn.fetchval(_Q["drop_reading_chunks"], timedelta(days=raw_days))),
        event_chunks=int(await conn.fetchval(_Q["drop_event_chunks"], timedelta(days=event_days))),
        rollup_chunks=int(await conn.fetchval(_Q["drop_rollup_chunks"], timedelta(days=rollup_days))),
        quarantine_rows=int(await conn.fetchval(_Q["purge_quarantine"], timedelta(days=quarantine_days))),
    )
