"""The diagnostics worker process. Today it keeps the store in shape (hourly rollup, retention);
the error-code rules, tickets and campaigns join it as they are built.

Several workers may run: each job takes a PostgreSQL advisory lock, so one of them does the work.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from diagnostics.scheduler import JobScheduler
from telemetry.database import STORE_UNAVAILABLE, Pool, create_pool_when_ready
from telemetry.edition import StoreFeatures, detect
from telemetry.rollups import apply_retention, refresh_hourly

__all__ = ["RetentionDays", "WorkerConfig", "run_maintenance", "run_worker"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetentionDays:
    raw: int = 90
    events: int = 730
    rollup: int = 5 * 365
    quarantine: int = 30


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    database_url: str
    maintenance_interval_s: float = 300.0
    retention: RetentionDays = RetentionDays()


async def run_maintenance(pool: Pool, features: StoreFeatures, retention: RetentionDays) -> None:
    """Refresh the project's own rollup (Apache edition) and drop data past retention."""
    async with pool.acquire() as conn:
        if not features.continuous_aggregates:
            async with conn.transaction():
                refreshed = await refresh_hourly(conn, now=datetime.now(UTC))
            log.info("hourly rollup: %s", refreshed)
        async with conn.transaction():
            dropped = await apply_retention(
                conn,
                raw_days=retention.raw,
                event_days=retention.events,
                rollup_days=retention.rollup,
                quarantine_days=retention.quarantine,
            )
        log.info("retention: %s", dropped)


async def run_worker(config: WorkerConfig, stop: asyncio.Event) -> None:
    """Run the periodic jobs until `stop` is set."""
    pool = await create_pool_when_ready(
        config.database_url, application_name="ondol-diagnostics", stop=stop, max_size=2
    )
    if pool is None:
        return
    try:
        async with pool.acquire() as conn:
            features = await detect(conn)
        log.info("store: %s", features.describe())
        scheduler = JobScheduler()

        async def maintenance() -> None:
            try:
                await run_maintenance(pool, features, config.retention)
            except STORE_UNAVAILABLE as exc:
                log.warning("store maintenance failed, will retry at the next run: %s", exc)

        scheduler.every(config.maintenance_interval_s, "store-maintenance", maintenance)
        scheduler.start()
        try:
            await stop.wait()
        finally:
            scheduler.shutdown()
    finally:
        await pool.close()
