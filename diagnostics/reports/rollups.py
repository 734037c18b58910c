"""Keeps the report rollups (report_ticket_facts, report_volume_daily, report_volume_hourly) up to
date, on both TimescaleDB editions.

Continuous aggregates do not fit here: they follow inserts into one hypertable, while a ticket is
judged again for weeks after it opens (contacted, resolved, a repeat within 30 days, a happy call).
So the store does the work itself. The first refresh builds every day from the first thing ever
counted, a month per statement; later ones recompute the last `window_days` days (45: the 30-day
repeat window, late-reported calls and late events fit inside) and judge again the older tickets
that changed since the last refresh. Reports say which refresh their figures are as of.

The caller owns the transaction: the advisory lock that keeps two workers from refreshing at once
lasts until it ends, and the deleted and recomputed rows commit together, so a report never sees a
half-built day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from telemetry import named_queries
from telemetry.database import Connection
from telemetry.korean_time import kst_day

__all__ = ["RollupRefresh", "refresh_report_rollups"]

_LOCK_KEY: Final = 0x0D01_0027  # advisory lock id of the report rollups' refresh
_STEP: Final = timedelta(days=31)
_Q: Final = named_queries.load("rollups", package="diagnostics.reports").require(
    "try_lock", "state", "first_day", "clear_days", "fill_tickets", "fill_daily", "fill_hourly",
    "changed_tickets", "forget_tickets", "judge_tickets", "mark_refreshed",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RollupRefresh:
    skipped: bool
    """Another worker held the lock; nothing was done."""
    first_day: date | None
    """The first day recomputed (None: nothing to count yet)."""
    last_day: date | None
    statements: int
    tickets_judged_again: int
    """Older tickets that changed since the last refresh."""


async def refresh_report_rollups(conn: Connection, *, now: datetime, window_days: int = 45) -> RollupRefresh:
    """Recompute the rollups' recent days (all days on the first run); call inside a transaction."""
    if window_days < 1:
        raise ValueError(f"window_days must be at least 1, not {window_days}")
    if not conn.is_in_transaction():
        raise RuntimeError(
            "refresh_report_rollups must run inside a transaction (its lock lasts until it ends)"
        )
    if not await conn.fetchval(_Q["try_lock"], _LOCK_KEY):
        return RollupRefresh(True, None, None, 0, 0)
    state = await conn.fetchrow(_Q["state"])
    if state is None:
        raise RuntimeError("report_rollup_state has no row: is the schema migrated?")
    today = kst_day(now)
    first: date | None
    if state["built_from"] is None:
        first = await conn.fetchval(_Q["first_day"])
    else:
        first = max(state["built_from"], today - timedelta(days=window_days))
    if first is None or first > today:
        await conn.execute(_Q["mark_refreshed"], None, now)
        return RollupRefresh(False, None, None, 0, 0)
    statements = await _recompute_days(conn, first, today)
    again = 0
    if state["refreshed_at"] is not None:
        changed = await conn.fetch(_Q["changed_tickets"], first, state["refreshed_at"])
        if changed:
            ids = [r["ticket_id"] for r in changed]
            await conn.execute(_Q["forget_tickets"], ids)
            await conn.execute(_Q["judge_tickets"], ids, [r["opened_at"] for r in changed])
            again = len(ids)
    await conn.execute(_Q["mark_refreshed"], first, now)
    return RollupRefresh(False, first, today, statements, again)


async def _recompute_days(conn: Connection, first: date, last: date) -> int:
    """Clear and refill [first, last] a month at a time; the number of statements run."""
    statements = 0
    lo = first
    while lo <= last:
        hi = min(lo + _STEP - timedelta(days=1), last)
        for name in ("clear_days", "fill_tickets", "fill_daily", "fill_hourly"):
            await conn.execute(_Q[name], lo, hi)
            statements += 1
        lo = hi + timedelta(days=1)
    return statements
