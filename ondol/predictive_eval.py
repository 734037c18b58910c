"""`ondol eval`: simulate a fleet with faults, run the predictive detectors as in production, and score
them against the ground truth.

The fleet's physics (`firmware_sim.physics`) runs in simulated time; every report interval its
telemetry and any codes the boilers raised go to a sink: straight into the store through the same
write path the gateway uses (`telemetry.readings.write_batch`), or over MQTT to a running gateway.
The engine consumes the event inbox as the worker does, and the detectors run on the worker's
schedule (frost watch every 2 simulated hours, production every 15 minutes; daily trends once a day
after 01:00 KST) with the
simulated clock as `now`. Nothing in the detectors knows it is being evaluated.

Scoring (per fault kind and overall):
- a prediction is right when its device has a planned fault of the same family, between the fault's
  onset and its repair (or the end of the run); otherwise it is a false alarm;
- recall: of the faults that failed within the run, the share predicted before they failed;
- lead time: failure minus prediction, for those;
- false alarms per 1,000 device-days.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal, Protocol

from diagnostics.catalog import Catalog, load_catalog
from diagnostics.faults.engine import EngineConfig, FaultEngine
from diagnostics.faults.inbox import InboxConsumer
from diagnostics.predictive.jobs import PredictiveConfig, list_predictions, run_daily, run_frost
from diagnostics.service_points import ServicePointDirectory, seed_if_empty
from firmware_sim.credentials import device_password, password_source
from firmware_sim.fault_plan import HARD_CODES, SLOW_FAULTS, FaultKind, plan_faults
from firmware_sim.fleet import REGIONS, SimDevice, plan_fleet
from firmware_sim.mqtt_link import LinkPool
from firmware_sim.physics import FaultOutcome, FleetPhysics, SimEvent
from firmware_sim.weather import simulate_weather
from gateway.broker_accounts import mosquitto_hash, set_accounts
from ondol.fleet_seed import sim_device_record
from ondol.schema import migrate_schema
from protocol.broker import BrokerAddress
from protocol.contract import EventPayload, MessageKind, TelemetryPayload, device_topic, encode
from telemetry.database import Pool, create_pool
from telemetry.device_registry import register_devices
from telemetry.health_features import KST, stored_since
from telemetry.readings import MEASUREMENT_COLUMNS, EventRow, IngestBatch, ReadingRow, write_batch

__all__ = [
    "EvalConfig",
    "EvalReport",
    "KindScore",
    "ReportSink",
    "StoreSink",
    "evaluate",
    "format_report",
    "score",
]

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


class ReportSink(Protocol):
    """Where the simulated fleet's reports go."""

    async def send(self, at: datetime, seq: int, devices: list[SimDevice], columns: dict[str, list[Any]],
                   events: list[tuple[SimDevice, SimEvent]]) -> None: ...  # fmt: skip

    async def settled(self) -> None:
        """Return once everything sent is in the store."""


@dataclass
class StoreSink:
    """Writes reports and events with the gateway's own write path, one transaction per interval.

    A write runs while the next interval is simulated (the database and the physics use a core each);
    `settled` waits for it."""

    pool: Pool
    batch_rows: int = 4000
    """Readings per transaction (several report intervals of a fleet): fewer, larger statements."""
    _event_seq: int = 0
    _pending: asyncio.Task[None] | None = None
    _batch: IngestBatch = field(default_factory=IngestBatch)

    async def send(self, at: datetime, seq: int, devices: list[SimDevice], columns: dict[str, list[Any]],
                   events: list[tuple[SimDevice, SimEvent]]) -> None:  # fmt: skip
        batch = IngestBatch()
        values = list(zip(*(columns[c] for c in MEASUREMENT_COLUMNS), strict=True))
        batch.readings = [
            ReadingRow(d.device_id, at, seq, at, v, None) for d, v in zip(devices, values, strict=True)
        ]
        for device, event in events:
            self._event_seq += 1
            batch.events.append(
                EventRow(device.device_id, event.at, self._event_seq, event.at, event.code, event.raised)
            )
        self._batch.readings += batch.readings
        self._batch.events += batch.events
        if len(self._batch.readings) >= self.batch_rows or self._batch.events:
            await self._flush()

    async def _flush(self) -> None:
        await self._wait()
        batch, self._batch = self._batch, IngestBatch()
        if len(batch):
            self._pending = asyncio.create_task(self._write(batch))

    async def _write(self, batch: IngestBatch) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await write_batch(conn, batch)

    async def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await pending

    async def settled(self) -> None:
        await self._flush()
        await self._wait()


@dataclass
class MqttSink:
    """Publishes reports and events as the boilers would, each over its own MQTT connection, to a
    broker a running gateway reads; `settled` waits until the broker has acknowledged everything and
    the gateway has stored it."""

    pool: Pool
    links: LinkPool
    first_ts: datetime
    timeout_s: float = 300.0
    _readings: int = 0
    _events: int = 0
    _last_ts: datetime | None = None
    _event_seq: int = 10**9

    @classmethod
    async def connect(cls, pool: Pool, broker: BrokerAddress, devices: Sequence[SimDevice], first_ts: datetime,
                      device_password: Callable[[str], str] | None = None) -> MqttSink:  # fmt: skip
        links = LinkPool(broker, device_password=device_password, inflight_window=1000)
        for device in devices:
            links.add(device.device_id, device.model, "sim-eval")
        links.connect_due()
        deadline = time.monotonic() + 60
        while not all(link.connected for link in links.links.values()):
            if time.monotonic() > deadline:
                raise TimeoutError("the simulated boilers could not all connect to the broker")
            links.service(0.05)
            await asyncio.sleep(0)
        return cls(pool, links, first_ts)

    async def send(self, at: datetime, seq: int, devices: list[SimDevice], columns: dict[str, list[Any]],
                   events: list[tuple[SimDevice, SimEvent]]) -> None:  # fmt: skip
        names = list(columns)
        for i, device in enumerate(devices):
            values = {n: columns[n][i] for n in names if columns[n][i] is not None}
            payload = TelemetryPayload.model_validate({"seq": seq, "ts": at, **values}, strict=False)
            self.links.publish(
                device.device_id, device_topic(device.device_id, MessageKind.TELEMETRY), encode(payload)
            )
            self.links.service(0.0)
        for device, event in events:
            self._event_seq += 1
            state: Literal["raised", "cleared"] = "raised" if event.raised else "cleared"
            payload_e = EventPayload(seq=self._event_seq, ts=event.at, code=event.code, state=state)
            self.links.publish(
                device.device_id, device_topic(device.device_id, MessageKind.EVENTS), encode(payload_e)
            )
        self._readings += len(devices)
        self._events += len(events)
        self._last_ts = at

    async def settled(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        while any(link.outstanding > 0 for link in self.links.links.values()):
            if time.monotonic() > deadline:
                raise TimeoutError("the broker did not acknowledge every report")
            self.links.service(0.02)
            await asyncio.sleep(0)
        while self._last_ts is not None:
            async with self.pool.acquire() as conn:
                stored = await stored_since(conn, self.first_ts, self._last_ts + timedelta(days=1))
            if stored[0] >= self._readings and stored[1] >= self._events:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the gateway stored {stored} of ({self._readings}, {self._events}) messages"
                )
            self.links.service(0.05)
            await asyncio.sleep(0.05)

    def close(self) -> None:
        self.links.disconnect_all()


@dataclass(frozen=True, slots=True)
class KindScore:
    kind: str
    faults: int
    failed: int
    detected: int
    leads_h: list[float]
    true_alarms: int
    false_alarms: int

    @property
    def recall(self) -> float | None:
        return self.detected / self.failed if self.failed else None

    @property
    def precision(self) -> float | None:
        total = self.true_alarms + self.false_alarms
        return self.true_alarms / total if total else None


@dataclass
class EvalReport:
    config: EvalConfig
    kinds: list[KindScore]
    device_days: float
    elapsed_s: float
    readings: int
    hard_faults: int
    healthy_hard_faults: int
    false_alarm_codes: dict[str, int] = field(default_factory=dict)

    def overall(self) -> dict[str, Any]:
        failed = sum(k.failed for k in self.kinds)
        detected = sum(k.detected for k in self.kinds)
        true = sum(k.true_alarms for k in self.kinds)
        false = sum(self.false_alarm_codes.values())
        slow = [h for k in self.kinds if FaultKind(k.kind) in SLOW_FAULTS for h in k.leads_h]
        leads = [h for k in self.kinds for h in k.leads_h]
        return {
            "devices": self.config.devices, "days": self.config.days, "seed": self.config.seed,
            "faults": sum(k.faults for k in self.kinds), "failed": failed, "detected_before_failure": detected,
            "recall": _round(detected / failed if failed else None),
            "precision": _round(true / (true + false) if true + false else None),
            "predictions": true + false, "false_alarms": false,
            "false_alarms_per_1000_device_days": round(1000 * false / self.device_days, 3),
            "lead_h_median": _round(_quantile(leads, 0.5)), "lead_h_p10": _round(_quantile(leads, 0.1)),
            "slow_lead_h_median": _round(_quantile(slow, 0.5)), "slow_lead_h_p10": _round(_quantile(slow, 0.1)),
            "readings": self.readings, "elapsed_s": round(self.elapsed_s, 1),
        }  # fmt: skip


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True, slots=True)
class Prediction:
    device_id: str
    code: str
    family: str
    predicted_at: datetime


def score(
    outcomes: Sequence[FaultOutcome], predictions: Sequence[Prediction], catalog: Catalog, *, end: datetime,
    config: EvalConfig, elapsed_s: float = 0.0, readings: int = 0, healthy_hard_faults: int = 0,
) -> EvalReport:  # fmt: skip
    """Match predictions to the ground truth (see the module docstring)."""
    family_of_kind = {kind: catalog[codes[0]].family for kind, codes in HARD_CODES.items()}
    faults_by_device: dict[str, list[FaultOutcome]] = defaultdict(list)
    for o in outcomes:
        faults_by_device[o.fault.device_id].append(o)
    matched: dict[int, list[Prediction]] = defaultdict(list)
    false_codes: Counter[str] = Counter()
    for p in predictions:
        hit = next((o for o in faults_by_device.get(p.device_id, ())
                    if family_of_kind[o.fault.kind] == p.family and o.fault.onset <= p.predicted_at
                    <= (o.repaired_at or end)), None)  # fmt: skip
        if hit is None:
            false_codes[p.code] += 1
        else:
            matched[id(hit)].append(p)
    kinds = []
    for kind in FaultKind:
        mine = [o for o in outcomes if o.fault.kind is kind]
        failed = [o for o in mine if o.failed_at is not None]
        leads = []
        for o in failed:
            assert o.failed_at is not None
            before = [p.predicted_at for p in matched.get(id(o), []) if p.predicted_at < o.failed_at]
            if before:
                leads.append((o.failed_at - min(before)).total_seconds() / 3600)
        kinds.append(KindScore(kind.value, len(mine), len(failed), len(leads), leads,
                               sum(len(matched.get(id(o), [])) for o in mine), 0))  # fmt: skip
    # False alarms are attributed to the fault kinds whose family they name.
    kinds = [_with_false(k, false_codes, family_of_kind, catalog) for k in kinds]
    return EvalReport(config, kinds, config.devices * config.days, elapsed_s, readings,
                      sum(1 for o in outcomes if o.failed_at), healthy_hard_faults, dict(false_codes))  # fmt: skip


def _with_false(
    k: KindScore, false_codes: Counter[str], family_of_kind: dict[FaultKind, str], catalog: Catalog
) -> KindScore:
    family = family_of_kind[FaultKind(k.kind)]
    sharing = [kind for kind, fam in family_of_kind.items() if fam == family]
    false = sum(n for code, n in false_codes.items() if catalog[code].family == family)
    share = false / len(sharing)  # two kinds of one family split its false alarms
    return KindScore(k.kind, k.faults, k.failed, k.detected, k.leads_h, k.true_alarms, round(share))


def format_report(report: EvalReport) -> list[str]:
    """The table, then one JSON line with the overall figures."""
    lines = [
        f"{'fault':<20} {'faults':>6} {'failed':>6} {'caught':>6} {'recall':>6} {'lead p50 h':>10} "
        f"{'lead p10 h':>10} {'alarms':>6} {'false':>5} {'precision':>9} {'false/1000 dd':>13}"
    ]
    for k in report.kinds:
        lines.append(
            f"{k.kind:<20} {k.faults:>6} {k.failed:>6} {k.detected:>6} {_fmt(k.recall):>6} "
            f"{_fmt(_quantile(k.leads_h, 0.5), 0):>10} {_fmt(_quantile(k.leads_h, 0.1), 0):>10} "
            f"{k.true_alarms + k.false_alarms:>6} {k.false_alarms:>5} {_fmt(k.precision):>9} "
            f"{1000 * k.false_alarms / report.device_days:>13.3f}"
        )
    o = report.overall()
    lines.append(
        f"{'overall':<20} {o['faults']:>6} {o['failed']:>6} {o['detected_before_failure']:>6} {_fmt(o['recall']):>6} "
        f"{_fmt(o['lead_h_median'], 0):>10} {_fmt(o['lead_h_p10'], 0):>10} {o['predictions']:>6} "
        f"{o['false_alarms']:>5} {_fmt(o['precision']):>9} {o['false_alarms_per_1000_device_days']:>13.3f}"
    )
    lines.append(f"false alarms by code: {report.false_alarm_codes or 'none'}; "
                 f"hard faults on boilers without a planned fault: {report.healthy_hard_faults}")  # fmt: skip
    lines.append(json.dumps(o, sort_keys=True))
    return lines


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


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
    start = config.start
    devices = plan_fleet(config.devices, seed=config.seed, prefix=eval_prefix(config))
    weather = simulate_weather([r.winter_mean_c for r in REGIONS], start=start, days=config.days,
                               seed=config.seed, extra_waves=cold_waves)  # fmt: skip
    faults = plan_faults(
        devices, weather, start=start, days=config.days, seed=config.seed, share=config.fault_share
    )
    physics = FleetPhysics(devices, weather, start, config.seed, faults, repair_after=config.repair_after,
                           wifi_outages_per_day=config.wifi_outages_per_day)  # fmt: skip
    async with pool.acquire() as conn:
        async with conn.transaction():
            await seed_if_empty(conn)
            await register_devices(
                conn, devices=[sim_device_record(d, config.report_minutes * 60) for d in devices]
            )
        directory = await ServicePointDirectory.load(conn)
    engine = FaultEngine(catalog, directory, EngineConfig(device_offline_events=False))
    consumer = InboxConsumer(pool, engine)
    sink: ReportSink
    if broker is None:
        sink = StoreSink(pool)
    else:
        sink = await MqttSink.connect(pool, broker, devices, start, device_password)
    predictive = PredictiveConfig()
    interval = timedelta(minutes=config.report_minutes)
    end = start + timedelta(days=config.days)
    rounds = int((end - start) / interval)
    frost_every = max(_FROST_EVERY, interval)
    next_frost = start + frost_every
    last_daily_day = None
    readings = 0
    healthy_codes = 0
    next_note = time.monotonic() + 10

    def step() -> _Step:
        events = physics.advance(interval.total_seconds())
        reporting = [int(i) for i in physics.reporting().nonzero()[0]]
        healthy = sum(1 for e in events if e.raised and not _has_fault(physics, e.device_index))
        return _Step(physics.now, reporting, physics.report_columns(reporting), events, healthy)

    # The physics of the next interval runs in a thread while this one's reports are written and
    # the detectors run: it never reads the store, so it may run one step ahead.
    ahead = asyncio.ensure_future(asyncio.to_thread(step))
    for k in range(1, rounds + 1):
        current = await ahead
        if k < rounds:
            ahead = asyncio.ensure_future(asyncio.to_thread(step))
        now, reporting, columns = current.now, current.reporting, current.columns
        paired = [(devices[e.device_index], e) for e in current.events]
        healthy_codes += current.healthy_codes
        await sink.send(now, k, [devices[i] for i in reporting], columns, paired)
        readings += len(reporting)
        if paired or now >= next_frost:
            await sink.settled()
        if paired:
            while (await consumer.drain_once()).handled:
                pass
        if now >= next_frost:
            async with pool.acquire() as conn, conn.transaction():
                await run_frost(conn, engine, now, predictive)
            next_frost += frost_every
        local = now.astimezone(KST)
        if local.hour >= _DAILY_AT_HOUR_KST and local.date() != last_daily_day:
            last_daily_day = local.date()
            await sink.settled()
            async with pool.acquire() as conn, conn.transaction():
                await run_daily(conn, engine, now, predictive)
        if time.monotonic() >= next_note:
            next_note = time.monotonic() + 10
            day = (now - start).total_seconds() / 86400
            progress(f"day {day:5.1f}/{config.days:g}: {readings:,} readings, "
                     f"{sum(1 for o in physics.outcomes if o.failed_at)} failures so far, "
                     f"{time.monotonic() - started:.0f} s")  # fmt: skip
    await sink.settled()
    if isinstance(sink, MqttSink):
        sink.close()
    predictions = [p for p in await _predictions(pool) if p.device_id.startswith(f"{eval_prefix(config)}-")]
    return score(physics.outcomes, predictions, catalog, end=end, config=config,
                 elapsed_s=time.monotonic() - started, readings=readings, healthy_hard_faults=healthy_codes)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Step:
    """One simulated interval: its end, the boilers that reported and what, the codes they raised."""

    now: datetime
    reporting: list[int]
    columns: dict[str, list[Any]]
    events: list[SimEvent]
    healthy_codes: int
    """Hard codes raised by boilers with no planned fault."""


def _has_fault(physics: FleetPhysics, index: int) -> bool:
    device_id = physics.devices[index].device_id
    return any(o.fault.device_id == device_id for o in physics.outcomes)


async def _predictions(pool: Pool) -> list[Prediction]:
    async with pool.acquire() as conn:
        rows = await list_predictions(conn)
    return [Prediction(r["device_id"], r["code"], r["family"], r["predicted_at"]) for r in rows]


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
