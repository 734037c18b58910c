"""Where `ondol eval`'s simulated boilers send their reports: straight into the store through the
gateway's own write path, or over MQTT to a broker a running gateway reads. Both keep the order the
physics produced, and `settled` lets the runner wait until the detectors can see everything sent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from firmware_sim.fleet import SimDevice
from firmware_sim.mqtt_link import LinkPool
from firmware_sim.physics import SimEvent
from protocol.broker import BrokerAddress
from protocol.contract import EventPayload, MessageKind, TelemetryPayload, device_topic, encode
from telemetry.database import Pool
from telemetry.health_features import stored_since
from telemetry.readings import MEASUREMENT_COLUMNS, EventRow, IngestBatch, ReadingRow, write_batch

__all__ = ["MqttSink", "ReportSink", "StoreSink"]


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
