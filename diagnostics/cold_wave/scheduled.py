"""Cold-wave mode's scheduled jobs: the advisories from the newest forecast and the preparation of
the regions they name, and the sweep that resolves area incidents gone quiet."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from diagnostics.cold_wave.forecasts import AdvisoryConfig, refresh_advisories
from diagnostics.cold_wave.incidents import resolve_quiet_incidents
from diagnostics.cold_wave.prepare import prepare_due_advisories
from diagnostics.faults.engine import FaultEngine
from telemetry.database import Pool
from telemetry.korean_time import kst_day
from telemetry.scheduling import Every, ScheduledJob

__all__ = ["jobs"]

log = logging.getLogger(__name__)


def jobs(pool: Pool, engine: FaultEngine, config: AdvisoryConfig, *, every_s: float) -> list[ScheduledJob]:
    return [
        ScheduledJob("incident-sweep", Every(every_s), lambda: _sweep(pool, engine)),
        ScheduledJob("cold-wave", Every(every_s), lambda: _advise_and_prepare(pool, config)),
    ]


async def _advise_and_prepare(pool: Pool, config: AdvisoryConfig) -> None:
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        async with conn.transaction():
            new = await refresh_advisories(conn, config, kst_day(now))
        for day in new:
            log.warning("cold-wave advisory: %s on %s, low %.1f °C (%s)", day.region, day.day, day.min_c,
                        ", ".join(day.reasons))  # fmt: skip
        for done in await prepare_due_advisories(conn, config, now):
            log.info("cold-wave preparation: %s for %s: %d households, %d told, frost protection applied to %d",
                     done.region, done.day, done.households, done.told, done.frost_protection_applied)  # fmt: skip


async def _sweep(pool: Pool, engine: FaultEngine) -> None:
    async with pool.acquire() as conn:
        resolved = await resolve_quiet_incidents(conn, engine, engine.config.incidents, datetime.now(UTC))
    if resolved:
        log.info("area incidents resolved by the sweep: %d", resolved)
