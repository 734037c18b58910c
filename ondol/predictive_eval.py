"""`ondol eval`: simulate a fleet with faults, run the predictive detectors as in production, and score
them against the ground truth (`diagnostics.predictive.evaluation`, where the scoring rules are).

The fleet's physics (`firmware_sim.physics`) runs in simulated time; every report interval its
telemetry and any codes the boilers raised go to a sink (`ondol.eval_sinks`): straight into the
store through the same write path the gateway uses, or over MQTT to a running gateway. The engine
consumes the event inbox as the worker does, and the detectors run on the worker's schedule (frost
watch every 2 simulated hours, production every 15 minutes; daily trends once a day after 01:00 KST)
with the simulated clock as `now`. Nothing in the detectors knows it is being evaluated.

This module is the runner, in the composition root because it joins the simulator to the product:
it turns the simulator's outcomes and the stored predictions into the plain data the scoring takes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

from diagnostics.catalog import Catalog, load_catalog
from diagnostics.faults.engine import EngineConfig, FaultEngine
from diagnostics.faults.inbox import InboxConsumer
from diagnostics.predictive.evaluation import (
    EvalReport,
    FaultKindSpec,
    InjectedFault,
    Prediction,
    RunFacts,
    score,
)
from diagnostics.predictive.jobs import PredictiveConfig, run_daily, run_frost
from diagnostics.predictive.store import list_predictions
from diagnostics.service_points import ServicePointDirectory, seed_if_empty
from firmware_sim.credentials import device_password, password_source
from firmware_sim.fault_plan import HARD_CODES, SLOW_FAULTS, FaultKind, plan_faults
from firmware_sim.fleet import REGIONS, SimDevice, plan_fleet
from firmware_sim.physics import FaultOutcome, FleetPhysics, SimEvent
from firmware_sim.weather import simulate_weather
from gateway.broker_accounts import mosquitto_hash, set_accounts
from ondol.eval_sinks import MqttSink, ReportSink, StoreSink
from ondol.fleet_seed import sim_device_record
from ondol.schema import migrate_schema
from protocol.broker import BrokerAddress
from telemetry.database import Pool, create_pool
from telemetry.device_registry import register_devices
from telemetry.korean_time import KST

__all__ = ["EvalConfig", "eval_prefix", "evaluate", "run_on_database", "run_over_mqtt", "run_sync"]

_FROST_EVERY: Final = timedelta(hours=2)
"""The frost watch's cadence here (production: 15 minutes), to keep a season within the time budget; it
costs the fast faults up to two hours of lead (condensate freeze: median lead about a day, p10 a few hours)."""
_DAILY_AT_HOUR_KST: Final = 1
_PREFIX: Final = "ev"


@dataclass(frozen=True, slots=True)
class EvalConfig:
    devices: int = 2000
    days: float = 120.0
    seed: int = 1
    start: datetime = datetime(2026, 11, 15, tzinfo=KST)
    report_minutes: int = 60
    """Simulated minutes between two reports of a boiler. Production reports every minute; the
    evaluation reports hourly to fit a season of 2,000 boilers in minutes on two cores. The counters
    are cumulative and the daily features are medians and fitted lines, so a coarser cadence only
    costs samples (the detectors see less than they would in production, not more)."""
    fault_share: float = 0.3
    repair_after: tuple[timedelta, timedelta] = (timedelta(hours=12), timedelta(hours=48))
    wifi_outages_per_day: float = 0.05
    """Healthy internet outages (5–90 min), so that a silent boiler is not always a faulty one."""

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)


async def evaluate(
    config: EvalConfig,
    pool: Pool,
    *,
    broker: BrokerAddress | None = None,
    device_password: Callable[[str], str] | None = None,
    progress: Callable[[str], None] = lambda _: None,
    cold_waves: Sequence[tuple[datetime, float, float]] = (),
) -> EvalReport:
    """Run the whole evaluation against a migrated, empty store behind `pool`; with `broker`, the
    reports travel over MQTT through a gateway already running against the same store."""
    started = time.monotonic()
    catalog = load_catalog()
    devices = plan_fleet(config.devices, seed=config.seed, prefix=eval_prefix(config))
    physics = _physics(config, devices, cold_waves)
    engine = await _engine_over_registered_fleet(pool, config, devices, catalog)
    consumer = InboxConsumer(pool, engine)
    sink: ReportSink
    if broker is None:
        sink = StoreSink(pool)
    else:
        sink = await MqttSink.connect(pool, broker, devices, config.start, device_password)
    frost_every = max(_FROST_EVERY, timedelta(minutes=config.report_minutes))
    detectors = _Detectors(pool, engine, consumer, frost_every, config.start + frost_every)
    season = _Season(config, physics, devices, sink, detectors, progress, started)
    await season.run()
    await sink.settled()
    if isinstance(sink, MqttSink):
        sink.close()
    predictions = [p for p in await _predictions(pool) if p.device_id.startswith(f"{eval_prefix(config)}-")]
    run = RunFacts(config.devices, config.days, config.seed, readings=season.readings,
                   elapsed_s=time.monotonic() - started, healthy_hard_faults=season.healthy_codes)  # fmt: skip
    return score(_fault_kinds(catalog), _injected(physics.outcomes), predictions, end=config.end, run=run)


def _physics(
    config: EvalConfig, devices: Sequence[SimDevice], cold_waves: Sequence[tuple[datetime, float, float]]
) -> FleetPhysics:
    """The fleet's weather, its planned faults and the physics that plays them out, all from the seed."""
    weather = simulate_weather([r.winter_mean_c for r in REGIONS], start=config.start, days=config.days,
                               seed=config.seed, extra_waves=cold_waves)  # fmt: skip
    faults = plan_faults(
        devices, weather, start=config.start, days=config.days, seed=config.seed, share=config.fault_share
    )
    return FleetPhysics(devices, weather, config.start, config.seed, faults, repair_after=config.repair_after,
                        wifi_outages_per_day=config.wifi_outages_per_day)  # fmt: skip


async def _engine_over_registered_fleet(
    pool: Pool, config: EvalConfig, devices: Sequence[SimDevice], catalog: Catalog
) -> FaultEngine:
    """Register the fleet (and the service points, once) and build the engine the worker would."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            await seed_if_empty(conn)
            await register_devices(
                conn, devices=[sim_device_record(d, config.report_minutes * 60) for d in devices]
            )
        directory = await ServicePointDirectory.load(conn)
    return FaultEngine(catalog, directory, EngineConfig(device_offline_events=False))


@dataclass(frozen=True, slots=True)
class _Step:
    """One simulated interval: its end, the boilers that reported and what, the codes they raised."""

    now: datetime
    reporting: list[int]
    columns: dict[str, list[Any]]
    events: list[SimEvent]
    healthy_codes: int
    """Hard codes raised by boilers with no planned fault."""


@dataclass
class _Detectors:
    """The worker's part, on the worker's schedule in simulated time: the inbox drained when codes came
    in, the frost watch every `frost_every`, the daily trends once per Korean day after 01:00."""

    pool: Pool
    engine: FaultEngine
    consumer: InboxConsumer
    frost_every: timedelta
    next_frost: datetime
    predictive: PredictiveConfig = field(default_factory=PredictiveConfig)
    last_daily_day: date | None = None

    async def drain_inbox(self) -> None:
        while (await self.consumer.drain_once()).handled:
            pass

    def frost_due(self, now: datetime) -> bool:
        return now >= self.next_frost

    async def frost(self, now: datetime) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await run_frost(conn, self.engine, now, self.predictive)
        self.next_frost += self.frost_every

    def daily_due(self, now: datetime) -> bool:
        """True once per Korean day, at the first interval after 01:00 (taking that day's turn)."""
        local = now.astimezone(KST)
        if local.hour < _DAILY_AT_HOUR_KST or local.date() == self.last_daily_day:
            return False
        self.last_daily_day = local.date()
        return True

    async def daily(self, now: datetime) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await run_daily(conn, self.engine, now, self.predictive)


@dataclass
class _Season:
    """The simulated season, interval by interval: reports to the sink, then the detectors."""

    config: EvalConfig
    physics: FleetPhysics
    devices: Sequence[SimDevice]
    sink: ReportSink
    detectors: _Detectors
    progress: Callable[[str], None]
    started: float
    readings: int = 0
    healthy_codes: int = 0
    next_note: float = field(init=False)

    def __post_init__(self) -> None:
        self.next_note = time.monotonic() + 10

    @property
    def interval(self) -> timedelta:
        return timedelta(minutes=self.config.report_minutes)

    async def run(self) -> None:
        """The physics of the next interval runs in a thread while this one's reports are written and
        the detectors run: it never reads the store, so it may run one step ahead."""
        rounds = int((self.config.end - self.config.start) / self.interval)
        ahead = asyncio.ensure_future(asyncio.to_thread(self._step))
        for k in range(1, rounds + 1):
            current = await ahead
            if k < rounds:
                ahead = asyncio.ensure_future(asyncio.to_thread(self._step))
            await self._interval(k, current)

    def _step(self) -> _Step:
        physics = self.physics
        events = physics.advance(self.interval.total_seconds())
        reporting = [int(i) for i in physics.reporting().nonzero()[0]]
        healthy = sum(1 for e in events if e.raised and not _has_fault(physics, e.device_index))
        return _Step(physics.now, reporting, physics.report_columns(reporting), events, healthy)

    async def _interval(self, seq: int, current: _Step) -> None:
        """Report, hand the raised codes to the engine, and run whichever detectors are due, each once
        everything sent before it is in the store."""
        now, detectors = current.now, self.detectors
        paired = [(self.devices[e.device_index], e) for e in current.events]
        self.healthy_codes += current.healthy_codes
        await self.sink.send(now, seq, [self.devices[i] for i in current.reporting], current.columns, paired)
        self.readings += len(current.reporting)
        frost_due = detectors.frost_due(now)
        if paired or frost_due:
            await self.sink.settled()
        if paired:
            await detectors.drain_inbox()
        if frost_due:
            await detectors.frost(now)
        if detectors.daily_due(now):
            await self.sink.settled()
            await detectors.daily(now)
        self._note_progress(now)

    def _note_progress(self, now: datetime) -> None:
        if time.monotonic() < self.next_note:
            return
        self.next_note = time.monotonic() + 10
        day = (now - self.config.start).total_seconds() / 86400
        failures = sum(1 for o in self.physics.outcomes if o.failed_at)
        self.progress(f"day {day:5.1f}/{self.config.days:g}: {self.readings:,} readings, "
                      f"{failures} failures so far, {time.monotonic() - self.started:.0f} s")  # fmt: skip


def _has_fault(physics: FleetPhysics, index: int) -> bool:
    device_id = physics.devices[index].device_id
    return any(o.fault.device_id == device_id for o in physics.outcomes)


def _fault_kinds(catalog: Catalog) -> list[FaultKindSpec]:
    """Every kind the simulator injects, named by the family of the codes it ends in."""
    return [
        FaultKindSpec(kind.value, catalog[HARD_CODES[kind][0]].family, kind in SLOW_FAULTS)
        for kind in FaultKind
    ]


def _injected(outcomes: Sequence[FaultOutcome]) -> list[InjectedFault]:
    return [
        InjectedFault(o.fault.device_id, o.fault.kind.value, o.fault.onset, o.failed_at, o.repaired_at)
        for o in outcomes
    ]


async def _predictions(pool: Pool) -> list[Prediction]:
    async with pool.acquire() as conn:
        rows = await list_predictions(conn)
    return [Prediction(r.device_id, r.code, r.family, r.predicted_at) for r in rows]


async def run_on_database(config: EvalConfig, dsn: str, progress: Callable[[str], None]) -> EvalReport:
    """Migrate the (empty) database at `dsn` and evaluate there."""
    pool = await create_pool(dsn, application_name="ondol-eval", max_size=4)
    try:
        async with pool.acquire() as conn:
            await migrate_schema(conn)
        return await evaluate(config, pool, progress=progress)
    finally:
        await pool.close()


def run_sync(config: EvalConfig, dsn: str, progress: Callable[[str], None]) -> EvalReport:
    return asyncio.run(run_on_database(config, dsn, progress))


async def run_over_mqtt(
    config: EvalConfig,
    dsn: str,
    broker: BrokerAddress,
    fleet_secret: bytes | None,
    progress: Callable[[str], None],
) -> EvalReport:
    """Evaluate through a running stack: the boilers publish to its broker, its gateway stores.

    On a broker that checks passwords the evaluation's boilers get accounts derived from the fleet
    secret (as the simulated fleet's), and the stack's broker-auth has a few seconds to load them."""
    pool = await create_pool(dsn, application_name="ondol-eval", max_size=4)
    try:
        password = None
        if fleet_secret is not None:
            devices = plan_fleet(config.devices, seed=config.seed, prefix=eval_prefix(config))
            async with pool.acquire() as conn, conn.transaction():
                await register_devices(
                    conn, devices=[sim_device_record(d, config.report_minutes * 60) for d in devices]
                )
                await set_accounts(conn, [(d.device_id, mosquitto_hash(device_password(fleet_secret, d.device_id)))
                                          for d in devices], role="device", issued_by="evaluation")  # fmt: skip
            password = password_source(fleet_secret)
            progress(
                "evaluation boilers registered with broker accounts; waiting for the broker to load them"
            )
            await asyncio.sleep(5)
        return await evaluate(config, pool, broker=broker, device_password=password, progress=progress)
    finally:
        await pool.close()


def eval_prefix(config: EvalConfig) -> str:
    """Device ids of an evaluation: its own prefix per seed, so a shared store keeps runs apart."""
    return f"{_PREFIX}{config.seed}"
