"""Periodic jobs on the worker's event loop: the one module that imports apscheduler (3.x)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, tzinfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

__all__ = ["JobScheduler"]

log = logging.getLogger(__name__)


class JobScheduler:
    """Runs coroutine jobs at fixed intervals or daily; a run that is still going is not started again.

    apscheduler logs every job's every run ("Running job …", "… executed successfully") at INFO: with
    a sweep every 5 s that buried what the jobs did. Its loggers say only warnings and errors (missed
    runs, a job that raised, with its traceback); the jobs log their own outcomes when there is one."""

    def __init__(self) -> None:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self._scheduler = AsyncIOScheduler(timezone=UTC)

    def every(
        self, seconds: float, name: str, job: Callable[[], Awaitable[None]], *, start_now: bool = True
    ) -> None:
        self._scheduler.add_job(
            job,
            IntervalTrigger(seconds=seconds),
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC) if start_now else None,
        )

    def daily(self, at: tuple[int, int], tz: tzinfo, name: str, job: Callable[[], Awaitable[None]]) -> None:
        """Run `job` every day at `at` (hour, minute) in `tz`; a day missed while down is not caught up."""
        self._scheduler.add_job(
            job,
            CronTrigger(hour=at[0], minute=at[1], timezone=tz),
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
