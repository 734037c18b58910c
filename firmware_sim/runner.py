"""Runs a simulated fleet over MQTT: reports on schedule (real or accelerated time), until told to stop.

The values come from the fleet's physics (`firmware_sim.physics`), stepped one report interval at a
time for the whole fleet, so a device's numbers are the same here as in an evaluation run with the
same seed and interval, whatever the pace.

Simulated time may run faster than real time; so that no device reports from the future, an
accelerated run covers a window that ends now (it starts `reports × interval` in the past).
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from firmware_sim.commands import CommandDevice, Outcome
from firmware_sim.fleet import REGIONS, SimDevice
from firmware_sim.mqtt_link import LinkPool
from firmware_sim.physics import FleetPhysics
from firmware_sim.weather import simulate_weather
from protocol.broker import BrokerAddress
from protocol.commands import DeviceMode
from protocol.contract import EventPayload, MessageKind, TelemetryPayload, device_topic, encode

__all__ = ["FleetRun", "FleetStats", "run_fleet"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FleetRun:
    """How a fleet runs."""

    report_interval_s: float = 60.0
    """Simulated seconds between two reports of one device."""
    acceleration: float = 1.0
    """Simulated seconds per real second; 0 means as fast as the broker takes them."""
    reports_per_device: int | None = None
    """Stop each device after this many reports (None: run until stopped)."""
    duration_s: float | None = None
    """Stop after this many real seconds (None: until stopped or every device is done)."""
    firmware: str = "sim-1.0"
    seed: int = 1
    """Seed of the fleet's weather and physics (the same seed gives the same numbers in any mode)."""
    inflight_window: int = 100
    stamp_sent_at: bool = False
    """Add the wall-clock publish time as an extra field `sent_at`, for latency measurements."""


@dataclass
class FleetStats:
    published: int = 0
    acknowledged: int = 0
    connect_failures: int = 0
    started: float = field(default_factory=time.monotonic)


def run_fleet(
    devices: list[SimDevice],
    broker: BrokerAddress,
    run: FleetRun,
    should_stop: Callable[[], bool] = lambda: False,
    progress: Callable[[FleetStats], None] | None = None,
    device_password: Callable[[str], str] | None = None,
) -> FleetStats:
    """Publish telemetry for `devices` per `run`; return when done or `should_stop()`.

    With `device_password`, each device logs in as itself (username = device id)."""
    inbox: list[tuple[str, bytes]] = []
    links = LinkPool(broker, inflight_window=run.inflight_window, device_password=device_password,
                     on_command=lambda device_id, payload: inbox.append((device_id, payload)))  # fmt: skip
    try:
        stats = _publish(devices, links, run, should_stop, progress, inbox)
        _drain(links, should_stop)
    finally:
        links.disconnect_all()  # also when publishing fails: no socket outlives the run
    return _stats(links, stats)


def _publish(
    devices: list[SimDevice],
    links: LinkPool,
    run: FleetRun,
    should_stop: Callable[[], bool],
    progress: Callable[[FleetStats], None] | None,
    inbox: list[tuple[str, bytes]],
) -> FleetStats:
    index = {d.device_id: i for i, d in enumerate(devices)}
    for device in devices:
        links.add(device.device_id, device.model, run.firmware)
    links.connect_due()

    now = datetime.now(UTC)
    accelerated = run.acceleration != 1.0
    span = (run.reports_per_device or 0) * run.report_interval_s if accelerated else 0.0
    sim_start = now - timedelta(seconds=span)
    real_start = time.monotonic()
    real_step = 0.0 if run.acceleration == 0 else run.report_interval_s / run.acceleration
    horizon_days = span / 86400 + 1 if run.reports_per_device else 400.0
    weather = simulate_weather([r.winter_mean_c for r in REGIONS], start=sim_start - timedelta(days=1),
                               days=horizon_days + 1, seed=run.seed)  # fmt: skip
    # The physics starts one interval early: after the first interval it stands at the first report's time.
    physics = FleetPhysics(devices, weather, sim_start - timedelta(seconds=run.report_interval_s), run.seed)
    rounds_done = 0
    # Spread the first reports over one interval so that a fleet does not report in lockstep.
    due: list[tuple[float, int, str]] = []
    for i, device in enumerate(devices):
        offset = (i / max(1, len(devices))) * real_step
        heapq.heappush(due, (real_start + offset, 0, device.device_id))
    stats = FleetStats(started=real_start)
    last_progress = real_start
    boiler = PhysicsBoiler(physics, index, links)
    commands = CommandDevice(
        boiler, publish=lambda device_id, topic, payload: links.publish(device_id, topic, payload)
    )

    while due and not should_stop():
        if run.duration_s is not None and time.monotonic() - real_start >= run.duration_s:
            break
        while inbox:
            commands.handle(*inbox.pop(0))
            boiler.publish_events()
        at, k, device_id = due[0]
        wait = at - time.monotonic()
        if wait > 0 or not links.can_publish(device_id):
            links.service(max(0.0, min(wait, 0.05)) if wait > 0 else 0.0)
            if wait <= 0 and not links.can_publish(device_id):
                heapq.heapreplace(due, (at + 0.001, k, device_id))
            continue
        heapq.heappop(due)
        sim_ts = sim_start + timedelta(seconds=k * run.report_interval_s)
        while rounds_done <= k:  # the whole fleet moves on one report interval at a time
            physics.advance(run.report_interval_s)
            rounds_done += 1
        values = physics.report_values(index[device_id])
        if run.stamp_sent_at:
            values["sent_at"] = time.time()
        boiler.last_seq[device_id] = k + 1
        payload = TelemetryPayload.model_validate({"seq": k + 1, "ts": sim_ts, **values}, strict=False)
        links.publish(device_id, device_topic(device_id, MessageKind.TELEMETRY),
                      payload.model_dump_json(exclude_none=True).encode())  # fmt: skip
        if run.reports_per_device is None or k + 1 < run.reports_per_device:
            heapq.heappush(due, (at + real_step, k + 1, device_id))
        if progress is not None and time.monotonic() - last_progress >= 5:
            last_progress = time.monotonic()
            progress(_stats(links, stats))
    return stats


class PhysicsBoiler:
    """What commands do to the simulated boilers: the physics' controls, plus the messages a boiler
    sends when a command changes something (a code cleared by a reset, a diagnostics snapshot)."""

    def __init__(self, physics: FleetPhysics, index: dict[str, int], links: LinkPool) -> None:
        self._physics = physics
        self._index = index
        self._links = links
        self.last_seq: dict[str, int] = {}
        self._event_seq = 0

    def reset_lockout(self, device_id: str) -> Outcome:
        ok, detail = self._physics.reset_lockout(self._index[device_id])
        return Outcome(ok, detail)

    def set_room_setpoint(self, device_id: str, celsius: float) -> Outcome:
        self._physics.set_room_setpoint(self._index[device_id], celsius)
        return Outcome(True, f"room setpoint {celsius:g} °C")

    def set_flow_setpoint(self, device_id: str, celsius: float) -> Outcome:
        self._physics.set_flow_setpoint(self._index[device_id], celsius)
        return Outcome(True, f"flow setpoint {celsius:g} °C")

    def set_dhw_setpoint(self, device_id: str, celsius: float) -> Outcome:
        self._physics.set_dhw_setpoint(self._index[device_id], celsius)
        return Outcome(True, f"hot-water setpoint {celsius:g} °C")

    def set_mode(self, device_id: str, mode: DeviceMode) -> Outcome:
        self._physics.set_mode(self._index[device_id], mode.value)
        return Outcome(True, f"mode {mode.value}")

    def fill_water(self, device_id: str) -> Outcome:
        self._physics.fill_water(self._index[device_id])
        return Outcome(True, "filled to the fill pressure")

    def publish_snapshot(self, device_id: str) -> Outcome:
        """A full report at once, stamped now (under the last report's sequence number)."""
        values = self._physics.report_values(self._index[device_id])
        now = datetime.now(UTC).replace(microsecond=0)
        payload = TelemetryPayload.model_validate({"seq": self.last_seq.get(device_id, 0), "ts": now, **values},
                                                  strict=False)  # fmt: skip
        self._links.publish(device_id, device_topic(device_id, MessageKind.TELEMETRY), encode(payload))
        return Outcome(True, "snapshot published")

    def publish_events(self) -> None:
        """Publish the codes commands cleared, as the boiler reports a lockout ending."""
        for event in self._physics.take_events():
            device_id = self._physics.devices[event.device_index].device_id
            self._event_seq += 1
            report = EventPayload(seq=self._event_seq, ts=datetime.now(UTC), code=event.code,
                                  state="raised" if event.raised else "cleared")  # fmt: skip
            self._links.publish(device_id, device_topic(device_id, MessageKind.EVENTS), encode(report))


def _drain(links: LinkPool, should_stop: Callable[[], bool], timeout_s: float = 60.0) -> None:
    """Wait until the broker has acknowledged everything published."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not should_stop():
        if all(link.outstanding <= 0 for link in links.links.values()):
            return
        links.service(0.05)
    log.warning("stopped with messages the broker had not acknowledged")


def _stats(links: LinkPool, stats: FleetStats) -> FleetStats:
    stats.published = sum(link.published for link in links.links.values())
    stats.acknowledged = sum(link.acknowledged for link in links.links.values())
    stats.connect_failures = links.connect_failures
    return stats
