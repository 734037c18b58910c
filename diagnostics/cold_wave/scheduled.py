"""Cold-wave mode's scheduled jobs: the sweep that resolves area incidents gone quiet."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from diagnostics.cold_wave.incidents import resolve_quiet_incidents
from diagnostics.faults.engine import FaultEngine
from telemetry.database import Pool
from telemetry.scheduling import Every, ScheduledJob

__all__ = ["jobs"]

log = logging.getLogger(__name__)


def jobs(pool: Pool, engine: FaultEngine, *, every_s: float) -> list[ScheduledJob]:
    return [ScheduledJob("incident-sweep", Every(every_s), lambda: _sweep(pool, engine))]


async def _sweep(pool: Pool, engine: FaultEngine) -> None:
    async with pool.acquire() as conn:
        resolved = await resolve_quiet_incidents(conn, engine, engine.config.incidents, datetime.now(UTC))
    if resolved:
        log.info("area incidents resolved by the sweep: %d", resolved)
