"""The store's scheduled job: keep the hourly rollup complete (Apache edition) and drop data past
retention."""

from __future__ import annotations

import logging
from dataclasses import astuple, dataclass
from datetime import UTC, datetime

from telemetry.database import Pool
from telemetry.edition import StoreFeatures
from telemetry.replication import SyncPolicy, SyncWatch
from telemetry.rollups import apply_retention, refresh_hourly
from telemetry.scheduling import Every, ScheduledJob

__all__ = ["RetentionDays", "jobs", "replication_jobs", "run_maintenance"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetentionDays:
    raw: int = 90
    events: int = 730
    rollup: int = 5 * 365
    quarantine: int = 30


def jobs(
    pool: Pool, features: StoreFeatures, retention: RetentionDays, *, every_s: float
) -> list[ScheduledJob]:
    return [
        ScheduledJob("store-maintenance", Every(every_s), lambda: run_maintenance(pool, features, retention))
    ]


def replication_jobs(pool: Pool, policy: SyncPolicy, *, every_s: float) -> list[ScheduledJob]:
    """The synchronous-standby watch, when the database is replicated (none otherwise)."""
    if not policy.standbys:
        return []
    watch = SyncWatch(policy)
    return [ScheduledJob("sync-standby-watch", Every(every_s), lambda: _watch(pool, watch))]


async def _watch(pool: Pool, watch: SyncWatch) -> None:
    async with pool.acquire() as conn:
        await watch.check(conn)


async def run_maintenance(pool: Pool, features: StoreFeatures, retention: RetentionDays) -> None:
    """Refresh the project's own rollup (Apache edition) and drop data past retention; each logs a
    line only when it changed something (every 5 minutes, an idle store would fill the log)."""
    async with pool.acquire() as conn:
        if not features.continuous_aggregates:
            async with conn.transaction():
                refreshed = await refresh_hourly(conn, now=datetime.now(UTC))
            if refreshed.statements or refreshed.invalidations_cleared:
                log.info("hourly rollup: %s", refreshed)
        async with conn.transaction():
            dropped = await apply_retention(
                conn,
                raw_days=retention.raw,
                event_days=retention.events,
                rollup_days=retention.rollup,
                quarantine_days=retention.quarantine,
            )
        if any(astuple(dropped)):
            log.info("retention: %s", dropped)
