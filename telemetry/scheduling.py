"""What a scheduled job is, for every feature that has one: each feature lists its jobs beside its
code (a `scheduled.py`), and the worker only collects them and hands them to its scheduler.

A job is named, runs on a fixed interval or daily at a Korean wall-clock time, and is a coroutine
with no arguments (it holds what it needs). A job logs what it did only when it did something; the
scheduler that runs it retries a job that met a store outage at its next run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import tzinfo

from telemetry.korean_time import KST

__all__ = ["DailyKst", "Every", "ScheduledJob"]


@dataclass(frozen=True, slots=True)
class Every:
    """Every `seconds`."""

    seconds: float


@dataclass(frozen=True, slots=True)
class DailyKst:
    """Every day at `hour`:`minute`, Korean time (a day missed while the worker was down is skipped)."""

    hour: int
    minute: int = 0

    @property
    def tz(self) -> tzinfo:
        return KST


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    name: str
    """Its id in the scheduler; dashes read as spaces in the log, unless `log_name` says otherwise."""
    when: Every | DailyKst
    run: Callable[[], Awaitable[None]]
    start_now: bool = True
    """An interval job runs once at start-up rather than first after one interval."""
    log_name: str | None = None

    @property
    def label(self) -> str:
        """What the log calls the job."""
        return self.log_name or self.name.replace("-", " ")
