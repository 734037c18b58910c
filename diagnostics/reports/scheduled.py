"""The reports' scheduled job: keep the rollups they read up to date (every 5 minutes by default)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from diagnostics.reports.rollups import refresh_report_rollups
from telemetry.database import Pool
from telemetry.scheduling import Every, ScheduledJob

__all__ = ["jobs"]

log = logging.getLogger(__name__)


def jobs(pool: Pool, *, every_s: float) -> list[ScheduledJob]:
    return [ScheduledJob("report-rollups", Every(every_s), lambda: _refresh(pool))]


async def _refresh(pool: Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        done = await refresh_report_rollups(conn, now=datetime.now(UTC))
    if done.tickets_judged_again or (done.first_day is not None and done.statements > 4):
        log.info("report rollups: %s", done)
