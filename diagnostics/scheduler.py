"""Runs the features' scheduled jobs on the worker's event loop: the one module that imports
apscheduler (3.x)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from telemetry.database import STORE_UNAVAILABLE
from telemetry.scheduling import DailyKst, Every, ScheduledJob

__all__ = ["JobScheduler"]

log = logging.getLogger(__name__)


class JobScheduler:
    """Runs jobs at fixed intervals or daily; a run that is still going is not started again.

    apscheduler logs every job's every run ("Running job …", "… executed successfully") at INFO: with
    a sweep every 5 s that buried what the jobs did. Its loggers say only warnings and errors (missed
    runs, a job that raised, with its traceback); the jobs log their own outcomes when there is one."""

    def __init__(self) -> None:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self._scheduler = AsyncIOScheduler(timezone=UTC)

    def add(self, job: ScheduledJob) -> None:
        """Schedule `job`; a run that meets a store outage is logged and left to the next run."""
        run = _retried_next_run(job)
        if isinstance(job.when, Every):
            self._every(job.when, job.name, run, start_now=job.start_now)
        else:
            self._daily(job.when, job.name, run)

    def _every(self, when: Every, name: str, run: Callable[[], Awaitable[None]], *, start_now: bool) -> None:
        self._scheduler.add_job(
            run,
            IntervalTrigger(seconds=when.seconds),
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC) if start_now else None,
        )

    def _daily(self, when: DailyKst, name: str, run: Callable[[], Awaitable[None]]) -> None:
        """A day missed while down is not caught up (an hour late is still run)."""
        self._scheduler.add_job(
            run,
            CronTrigger(hour=when.hour, minute=when.minute, timezone=when.tz),
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        self._scheduler.shutdown(wait=False)


def _retried_next_run(job: ScheduledJob) -> Callable[[], Awaitable[None]]:
    """The job's run, with a store outage logged as a warning instead of raised: the next run retries."""

    async def run() -> None:
        try:
            await job.run()
        except STORE_UNAVAILABLE as exc:
            log.warning("%s failed, will retry at the next run: %s", job.label, exc)

    return run
