"""The diagnostics worker process: drains the event inbox into cases, tickets and alerts, runs the
time-driven sweeps, the predictive-care jobs (trends daily, frost watch every 15 minutes) and the
inspection campaign's jobs (first plan, daily re-plan, reminders, follow-ups), and keeps the store in
shape (hourly rollup, retention).

Several workers may run: lanes, row locks and advisory locks make each piece of work one worker's.
The catalog is validated at start-up: a broken catalog stops the worker before it handles anything.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import astuple, dataclass, field
from datetime import UTC, datetime
from typing import Any

from diagnostics.campaigns.jobs import CampaignJobs
from diagnostics.campaigns.plan import CampaignConfig
from diagnostics.catalog import load_catalog
from diagnostics.faults.engine import EngineConfig, FaultEngine
from diagnostics.faults.inbox import InboxConsumer
from diagnostics.faults.sweeps import run_offline_sweep, run_sweeps
from diagnostics.messages.quiet_hours import KST
from diagnostics.predictive.jobs import PredictiveConfig, run_daily, run_frost
from diagnostics.scheduler import JobScheduler
from diagnostics.service_points import ServicePointDirectory
from telemetry.database import STORE_UNAVAILABLE, Pool, create_pool_when_ready, poll_until_stopped
from telemetry.edition import StoreFeatures, detect
from telemetry.readings import EVENT_INBOX_CHANNEL
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
    sweep_interval_s: float = 5.0
    offline_interval_s: float = 60.0
    """How often devices gone offline are looked for (device.offline events)."""
    idle_poll_s: float = 1.0
    retention: RetentionDays = RetentionDays()
    engine: EngineConfig = field(default_factory=EngineConfig)
    predictive: PredictiveConfig = field(default_factory=PredictiveConfig)
    trends_interval_s: float = 3600.0
    """How often the daily trend job looks for completed days (it examines each day once)."""
    frost_interval_s: float = 900.0
    campaign: CampaignConfig = field(default_factory=CampaignConfig)
    campaign_interval_s: float = 3600.0
    """How often the first plan is looked for, and reminders and follow-ups are sent."""
    replan_at_kst: tuple[int, int] = (2, 0)
    """When the daily re-plan runs (hour, minute), Korean time."""


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


async def run_worker(config: WorkerConfig, stop: asyncio.Event) -> None:
    """Work until `stop` is set."""
    catalog = load_catalog()
    log.info("catalog: %d codes", len(catalog))
    pool = await create_pool_when_ready(
        config.database_url, application_name="ondol-diagnostics", stop=stop, max_size=4
    )
    if pool is None:
        return
    try:
        async with pool.acquire() as conn:
            features = await detect(conn)
            directory = await ServicePointDirectory.load(conn)
        log.info("store: %s", features.describe())
        log.info("service points: %d", len(directory))
        engine = FaultEngine(catalog, directory, config.engine)
        scheduler = JobScheduler()
        scheduler.every(
            config.maintenance_interval_s,
            "store-maintenance",
            _guarded("store maintenance", lambda: run_maintenance(pool, features, config.retention)),
        )
        scheduler.every(
            config.sweep_interval_s, "sweeps", _guarded("sweeps", lambda: _sweep(pool, engine, config))
        )
        if config.engine.device_offline_events:
            scheduler.every(config.offline_interval_s, "offline-devices",
                            _guarded("offline devices", lambda: _offline(pool)))  # fmt: skip
        scheduler.every(config.trends_interval_s, "predictive-trends",
                        _guarded("predictive trends", lambda: _trends(pool, engine, config)))  # fmt: skip
        scheduler.every(config.frost_interval_s, "frost-watch",
                        _guarded("frost watch", lambda: _frost(pool, engine, config)))  # fmt: skip
        _schedule_campaign(scheduler, pool, config)
        scheduler.every(300, "service-points", _guarded("service points", lambda: _reload_points(pool, engine)),
                        start_now=False)  # fmt: skip
        scheduler.start()
        try:
            await _consume(pool, engine, config, stop)
        finally:
            scheduler.shutdown()
    finally:
        await pool.close()


def _schedule_campaign(scheduler: JobScheduler, pool: Pool, config: WorkerConfig) -> None:
    """The inspection campaign's four jobs: first plan, daily re-plan, reminders, follow-ups."""
    jobs = CampaignJobs(config.campaign)

    async def plan() -> None:
        async with pool.acquire() as conn:
            if report := await jobs.plan_if_due(conn, datetime.now(UTC)):
                why = "; ".join(report.why_nothing_new)
                log.info("inspection campaign %d planned: %d inspections%s", report.season, report.selected,
                         f" (none new: {why})" if why else "")  # fmt: skip

    async def replan() -> None:
        async with pool.acquire() as conn:
            if (report := await jobs.replan(conn, datetime.now(UTC))) and report.changed:
                log.info("inspection campaign %d re-planned: %d new, %d moved, %d withdrawn, %d lapsed",
                         report.season, report.new, report.moved, report.withdrawn, report.lapsed)  # fmt: skip

    def remind(wave: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            async with pool.acquire() as conn:
                if (report := await jobs.remind(conn, datetime.now(UTC), wave)).inspections:
                    log.info("inspection reminders (wave %d): %s", wave, report)

        return run

    scheduler.every(config.campaign_interval_s, "campaign-plan", _guarded("campaign plan", plan))
    scheduler.daily(config.replan_at_kst, KST, "campaign-replan", _guarded("campaign re-plan", replan))
    scheduler.every(
        config.campaign_interval_s, "inspection-reminders", _guarded("inspection reminders", remind(0))
    )
    scheduler.every(config.campaign_interval_s, "inspection-follow-ups",
                    _guarded("inspection follow-ups", remind(1)))  # fmt: skip


async def _trends(pool: Pool, engine: FaultEngine, config: WorkerConfig) -> None:
    async with pool.acquire() as conn, conn.transaction():
        result = await run_daily(conn, engine, datetime.now(UTC), config.predictive)
    if result.days or result.opened:
        log.info("predictive trends: %s", result)


async def _frost(pool: Pool, engine: FaultEngine, config: WorkerConfig) -> None:
    async with pool.acquire() as conn, conn.transaction():
        result = await run_frost(conn, engine, datetime.now(UTC), config.predictive)
    if result.opened:
        log.info("frost watch: %s", result)


async def _offline(pool: Pool) -> None:
    if notified := await run_offline_sweep(pool):
        log.info("device.offline events: %d", notified)


async def _consume(pool: Pool, engine: FaultEngine, config: WorkerConfig, stop: asyncio.Event) -> None:
    """Drain the inbox; between drains, sleep until a NOTIFY from the gateway or the poll interval."""
    wake = asyncio.Event()
    consumer = InboxConsumer(pool, engine)

    def on_notify(*_: object) -> None:
        wake.set()

    async with pool.acquire() as listener:
        await listener.add_listener(EVENT_INBOX_CHANNEL, on_notify)
        try:
            await _drain_until_stopped(consumer, config, stop, wake)
        finally:
            await listener.remove_listener(EVENT_INBOX_CHANNEL, on_notify)


async def _drain_until_stopped(
    consumer: InboxConsumer, config: WorkerConfig, stop: asyncio.Event, wake: asyncio.Event
) -> None:
    """Drain again at once while events come, else when `wake` is set or the poll interval passes."""

    async def drain() -> int:
        result = await consumer.drain_once()
        return result.handled + result.failed

    await poll_until_stopped(drain, stop, config.idle_poll_s, what="inbox drain", wake=wake)


async def _sweep(pool: Pool, engine: FaultEngine, config: WorkerConfig) -> None:
    result = await run_sweeps(pool, engine)
    if any((result.ticketed_after_guidance, result.escalated, result.proposed_remote_resolution,
            result.unacknowledged_alerts)):  # fmt: skip
        log.info("sweeps: %s", result)


async def _reload_points(pool: Pool, engine: FaultEngine) -> None:
    async with pool.acquire() as conn:
        engine.service_points = await ServicePointDirectory.load(conn)


def _guarded(name: str, job: Any) -> Any:
    async def run() -> None:
        try:
            await job()
        except STORE_UNAVAILABLE as exc:
            log.warning("%s failed, will retry at the next run: %s", name, exc)

    return run
