"""The fault engine's scheduled jobs: the time-driven sweeps, devices gone offline, and the service
point registry reloaded into the engine (routing reads it in memory)."""

from __future__ import annotations

import logging

from diagnostics.faults.engine import FaultEngine
from diagnostics.faults.sweeps import run_offline_sweep, run_sweeps
from diagnostics.service_points import ServicePointDirectory
from telemetry.database import Pool
from telemetry.scheduling import Every, ScheduledJob

__all__ = ["SERVICE_POINTS_RELOAD_S", "jobs"]

log = logging.getLogger(__name__)

SERVICE_POINTS_RELOAD_S = 300.0


def jobs(
    pool: Pool, engine: FaultEngine, *, sweep_every_s: float, offline_every_s: float
) -> list[ScheduledJob]:
    """The sweeps; the offline sweep unless device.offline events are turned off; the reload, first
    after one interval (the worker loads the registry at start-up)."""
    offline = (
        [ScheduledJob("offline-devices", Every(offline_every_s), lambda: _offline(pool))]
        if engine.config.device_offline_events
        else []
    )
    return [
        ScheduledJob("sweeps", Every(sweep_every_s), lambda: _sweep(pool, engine)),
        *offline,
        ScheduledJob(
            "service-points",
            Every(SERVICE_POINTS_RELOAD_S),
            lambda: _reload_points(pool, engine),
            start_now=False,
        ),
    ]


async def _sweep(pool: Pool, engine: FaultEngine) -> None:
    result = await run_sweeps(pool, engine)
    if result.did_something:
        log.info("sweeps: %s", result)


async def _offline(pool: Pool) -> None:
    if notified := await run_offline_sweep(pool):
        log.info("device.offline events: %d", notified)


async def _reload_points(pool: Pool, engine: FaultEngine) -> None:
    async with pool.acquire() as conn:
        engine.service_points = await ServicePointDirectory.load(conn)
