"""The diagnostics worker process: drains the event inbox into cases, tickets and alerts, and runs
the features' scheduled jobs: the store's maintenance (hourly rollup, retention), the fault sweeps,
predictive care (trends daily, frost watch every 15 minutes) and the inspection campaign (first
plan, daily re-plan, reminders, follow-ups). Each feature lists its jobs in its `scheduled.py`; the
worker collects them and hands them to the scheduler.

Several workers may run: lanes, row locks and advisory locks make each piece of work one worker's.
The catalog is validated at start-up: a broken catalog stops the worker before it handles anything.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from diagnostics.campaigns import scheduled as campaign_jobs
from diagnostics.campaigns.plan import CampaignConfig
from diagnostics.catalog import load_catalog
from diagnostics.cold_wave import scheduled as cold_wave_jobs
from diagnostics.cold_wave.forecasts import AdvisoryConfig
from diagnostics.commands import scheduled as command_jobs
from diagnostics.commands.watch import DEFAULT_WATCH
from diagnostics.customer_link import scheduled as link_jobs
from diagnostics.faults import scheduled as fault_jobs
from diagnostics.faults.engine import EngineConfig, FaultEngine
from diagnostics.faults.inbox import InboxConsumer
from diagnostics.predictive import scheduled as predictive_jobs
from diagnostics.predictive.jobs import PredictiveConfig
from diagnostics.reports import scheduled as report_jobs
from diagnostics.scheduler import JobScheduler
from diagnostics.service_points import ServicePointDirectory
from telemetry import scheduled as store_jobs
from telemetry.database import Pool, create_pool_when_ready, poll_until_stopped
from telemetry.edition import StoreFeatures, detect
from telemetry.event_inbox import EVENT_INBOX_CHANNEL
from telemetry.replication import SyncPolicy
from telemetry.scheduled import RetentionDays
from telemetry.scheduling import ScheduledJob

__all__ = ["RetentionDays", "WorkerConfig", "run_worker"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    database_url: str
    maintenance_interval_s: float = 300.0
    sweep_interval_s: float = 5.0
    offline_interval_s: float = 60.0
    """How often devices gone offline are looked for (device.offline events)."""
    idle_poll_s: float = 1.0
    retention: RetentionDays = field(default_factory=RetentionDays)
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
    remote_reset_interval_s: float = 30.0
    remote_reset_watch: timedelta = DEFAULT_WATCH
    """How long a remotely reset boiler must stay clear before its ticket is resolved remotely."""
    incident_sweep_interval_s: float = 60.0
    """How often open area incidents are checked for having gone quiet, and the forecast for advisories."""
    cold_wave: AdvisoryConfig = field(default_factory=AdvisoryConfig)
    visit_reminder_interval_s: float = 60.0
    """How often due visit reminders (the day before, the hour before) are looked for."""
    report_rollup_interval_s: float = 300.0
    sync_policy: SyncPolicy = field(default_factory=lambda: SyncPolicy(""))
    """What to do when the primary's synchronous standby is gone (telemetry.replication)."""
    sync_watch_interval_s: float = 1.0
    """How often the report rollups recompute their recent days (reports say what they are as of)."""


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
        for job in _scheduled_jobs(pool, features, engine, config):
            scheduler.add(job)
        scheduler.start()
        try:
            await _consume(pool, engine, config, stop)
        finally:
            scheduler.shutdown()
    finally:
        await pool.close()


def _scheduled_jobs(
    pool: Pool, features: StoreFeatures, engine: FaultEngine, config: WorkerConfig
) -> list[ScheduledJob]:
    """Every feature's jobs, with the intervals the worker is configured with."""
    return [
        *store_jobs.jobs(pool, features, config.retention, every_s=config.maintenance_interval_s),
        *store_jobs.replication_jobs(pool, config.sync_policy, every_s=config.sync_watch_interval_s),
        *fault_jobs.jobs(pool, engine, sweep_every_s=config.sweep_interval_s,
                         offline_every_s=config.offline_interval_s),
        *predictive_jobs.jobs(pool, engine, config.predictive, trends_every_s=config.trends_interval_s,
                              frost_every_s=config.frost_interval_s),
        *campaign_jobs.jobs(pool, config.campaign, every_s=config.campaign_interval_s,
                            replan_at=config.replan_at_kst),
        *command_jobs.jobs(pool, every_s=config.remote_reset_interval_s, watch=config.remote_reset_watch),
        *link_jobs.jobs(pool, every_s=config.visit_reminder_interval_s),
        *cold_wave_jobs.jobs(pool, engine, config.cold_wave, every_s=config.incident_sweep_interval_s),
        *report_jobs.jobs(pool, every_s=config.report_rollup_interval_s),
    ]  # fmt: skip


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
