"""The commands feature's scheduled job: concluding remote resets (watch.py)."""

from __future__ import annotations

import logging
from datetime import timedelta

from diagnostics.commands.watch import judge_resets
from telemetry.database import Pool
from telemetry.scheduling import Every, ScheduledJob

__all__ = ["jobs"]

log = logging.getLogger(__name__)


def jobs(pool: Pool, *, every_s: float, watch: timedelta) -> list[ScheduledJob]:
    return [ScheduledJob("remote-resets", Every(every_s), lambda: _judge(pool, watch))]


async def _judge(pool: Pool, watch: timedelta) -> None:
    counts = await judge_resets(pool, watch=watch)
    if any(counts.values()):
        log.info("remote resets concluded: %s", counts)
