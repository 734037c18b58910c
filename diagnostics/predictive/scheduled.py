"""Predictive care's scheduled jobs: the daily trend detectors (run hourly; each day is examined
once) and the frost watch."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from diagnostics.faults.engine import FaultEngine
from diagnostics.predictive.jobs import PredictiveConfig, run_daily, run_frost
from telemetry.database import Pool
from telemetry.scheduling import Every, ScheduledJob

__all__ = ["jobs"]

log = logging.getLogger(__name__)


def jobs(
    pool: Pool, engine: FaultEngine, config: PredictiveConfig, *, trends_every_s: float, frost_every_s: float
) -> list[ScheduledJob]:
    return [
        ScheduledJob("predictive-trends", Every(trends_every_s), lambda: _trends(pool, engine, config)),
        ScheduledJob("frost-watch", Every(frost_every_s), lambda: _frost(pool, engine, config)),
    ]


async def _trends(pool: Pool, engine: FaultEngine, config: PredictiveConfig) -> None:
    async with pool.acquire() as conn, conn.transaction():
        result = await run_daily(conn, engine, datetime.now(UTC), config)
    if result.days or result.opened:
        log.info("predictive trends: %s", result)


async def _frost(pool: Pool, engine: FaultEngine, config: PredictiveConfig) -> None:
    async with pool.acquire() as conn, conn.transaction():
        result = await run_frost(conn, engine, datetime.now(UTC), config)
    if result.opened:
        log.info("frost watch: %s", result)
