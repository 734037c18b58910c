"""The ingest loop: take messages, decode, write one batch per transaction, commit, then acknowledge.

Batches are bounded by size and by the age of their oldest message. A database that is down or
restarting makes the loop wait and retry with the batch in hand; nothing is acknowledged until it is
committed, so the broker keeps (and later redelivers) everything meanwhile. A batch the database
refuses for its data is split so that only the offending messages are quarantined.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from gateway.decoder import Decoded, DecodeLimits, Reason, decode, quarantine
from gateway.metrics import GatewayMetrics
from gateway.mqtt_edge import RawMessage
from protocol.backoff import Backoff, sleep_unless_stopped
from telemetry.database import STORE_REJECTED, STORE_UNAVAILABLE, Connection, Pool
from telemetry.readings import (
    CommandAnswerRow,
    EventRow,
    IngestBatch,
    QuarantineRow,
    ReadingRow,
    StatusRow,
    known_devices,
    write_batch,
)

__all__ = ["BatchPolicy", "DeviceDirectory", "Ingestor", "MessageSource"]

log = logging.getLogger(__name__)


class MessageSource(Protocol):
    """Where messages come from and where acknowledgements go (the MQTT edge, or a test fake)."""

    def take(self, limit: int) -> list[RawMessage]: ...
    def ack(self, messages: list[RawMessage]) -> int: ...
    def backlog(self) -> int: ...


BATCH_RETRY: Final = Backoff(base_s=0.4, cap_s=5.0)
DECODE_SLICE: Final = 500
"""Messages decoded between two turns of the event loop (see Ingestor._decode)."""
"""How a batch waits for the store: 0.2 to 0.4 s after the first failure, doubling to 2.5 to 5 s.
Shorter than the other services' waits: the gateway holds the batch, and the broker the rest."""


@dataclass(frozen=True, slots=True)
class BatchPolicy:
    max_rows: int = 20_000
    """A batch takes at most this many messages. At full speed each batch costs a few database round
    trips and a commit whatever its size, so large batches drain a backlog faster (bench/ingest.py:
    about 15 % more messages per second with 20,000 than with 5,000); at ordinary rates batches stay
    small, bounded by max_delay_s."""
    max_delay_s: float = 0.05
    retry: Backoff = BATCH_RETRY


class DeviceDirectory:
    """Which device ids are registered, cached; an unknown id is looked up again after `recheck_s`."""

    def __init__(self, recheck_s: float = 10.0) -> None:
        self._known: set[str] = set()
        self._unknown_until: dict[str, float] = {}
        self._recheck_s = recheck_s

    async def unknown(self, conn: Connection, device_ids: set[str]) -> set[str]:
        now = time.monotonic()
        to_check = {d for d in device_ids if d not in self._known and self._unknown_until.get(d, 0.0) <= now}
        if to_check:
            found = await known_devices(conn, sorted(to_check))
            self._known |= found
            for device_id in to_check - found:
                self._unknown_until[device_id] = now + self._recheck_s
            for device_id in found:
                self._unknown_until.pop(device_id, None)
        return {d for d in device_ids if d not in self._known}


class Ingestor:
    """Moves messages from a source into the store, acknowledging only what is committed."""

    def __init__(
        self,
        pool: Pool,
        source: MessageSource,
        *,
        policy: BatchPolicy,
        limits: DecodeLimits,
        metrics: GatewayMetrics,
        wakeup: asyncio.Event,
        directory: DeviceDirectory | None = None,
    ) -> None:
        self._pool = pool
        self._source = source
        self._policy = policy
        self._limits = limits
        self._metrics = metrics
        self._wakeup = wakeup
        self._directory = directory or DeviceDirectory()

    async def run(self, stop: asyncio.Event) -> None:
        """Ingest until `stop` is set; the batch in hand when it is set is finished first.

        Two batches overlap: while one is written and committed (mostly waiting on the database), the
        next is collected and decoded (CPU). Writes stay one after another, in the order the messages
        came, so a device's events reach the store, and the diagnostics inbox, in order."""
        writing: asyncio.Task[bool] | None = None
        while not stop.is_set():
            messages = await self._collect(stop)
            if not messages:
                continue
            started = time.perf_counter()
            decoded = await self._decode(messages)
            if writing is not None and not await writing:
                return  # stopped before the previous batch committed: the broker keeps both
            writing = asyncio.create_task(self._store(messages, decoded, started, stop))
        if writing is not None:
            await writing

    async def _collect(self, stop: asyncio.Event) -> list[RawMessage]:
        if not self._source.backlog():
            self._wakeup.clear()
            if not self._source.backlog():
                await sleep_unless_stopped(stop, None, wake=self._wakeup)
        messages = self._source.take(self._policy.max_rows)
        if messages and len(messages) < self._policy.max_rows:
            age = time.time() - messages[0].received_at
            if age < self._policy.max_delay_s:
                await asyncio.sleep(self._policy.max_delay_s - age)
                messages += self._source.take(self._policy.max_rows - len(messages))
        self._metrics.backlog.set(self._source.backlog())
        return messages

    async def ingest(self, messages: list[RawMessage], stop: asyncio.Event | None = None) -> bool:
        """Decode, store and acknowledge one batch. False when stopped before it could be committed."""
        started = time.perf_counter()
        return await self._store(messages, await self._decode(messages), started, stop)

    async def _decode(self, messages: list[RawMessage]) -> list[Decoded]:
        """Decode a batch, handing the loop back every DECODE_SLICE messages. The previous batch's
        COPY is streamed from this same loop: decoding 20,000 messages in one go (about 0.15 s) would
        leave the database waiting for the rest of its data all that time, and the socket unread.
        Measured in bench/ingest.py: 31,700 → 35,700 msg/s, the idle share of the cores 0.45 → 0.19."""
        self._metrics.received.inc(len(messages))
        limits = self._limits
        decoded: list[Decoded] = []
        for start in range(0, len(messages), DECODE_SLICE):
            decoded += [decode(m, limits) for m in messages[start : start + DECODE_SLICE]]
            if start + DECODE_SLICE < len(messages):
                await asyncio.sleep(0)
        return decoded

    async def _store(
        self, messages: list[RawMessage], decoded: list[Decoded], started: float, stop: asyncio.Event | None
    ) -> bool:
        """Store and acknowledge one decoded batch. False when stopped before it could be committed."""
        failures = 0
        while True:
            try:
                async with self._pool.acquire() as conn:
                    decoded = await self._quarantine_unknown(conn, messages, decoded)
                    try:
                        async with conn.transaction():
                            result = await write_batch(conn, _batch_of(decoded))
                    except STORE_REJECTED as exc:
                        log.warning(
                            "batch of %d refused (%s); writing its messages one by one", len(decoded), exc
                        )
                        result = None
                    if result is None:
                        written, duplicates = await self._write_one_by_one(conn, messages, decoded)
                    else:
                        written = (result.readings_inserted, result.events_inserted)
                        duplicates = result.duplicates
                break
            except STORE_REJECTED:
                raise
            except STORE_UNAVAILABLE as exc:
                failures += 1
                if not await self._wait_to_retry(exc, failures, stop):
                    return False
        acked = self._source.ack(messages)
        self._record(decoded, written, duplicates, acked, time.perf_counter() - started)
        return True

    async def _wait_to_retry(self, exc: Exception, failures: int, stop: asyncio.Event | None) -> bool:
        """Wait out the store with the batch in hand; False when stopped, the batch uncommitted (the
        broker redelivers it). A stop during the wait ends it early for one last attempt."""
        self._metrics.storage_retries.inc()
        delay = self._policy.retry.delay(failures)
        log.warning("store unavailable (%s: %s); retrying the batch in %.1fs", type(exc).__name__, exc, delay)
        if stop is not None and stop.is_set():
            return False
        await sleep_unless_stopped(asyncio.Event() if stop is None else stop, delay)
        return True

    async def _quarantine_unknown(
        self, conn: Connection, messages: Sequence[RawMessage], decoded: list[Decoded]
    ) -> list[Decoded]:
        device_ids = {d.device_id for d in decoded if not isinstance(d, QuarantineRow)}
        unknown = await self._directory.unknown(conn, device_ids)
        if not unknown:
            return decoded
        return [
            quarantine(m, Reason.UNKNOWN_DEVICE, f"device {d.device_id!r} is not registered", d.device_id)
            if not isinstance(d, QuarantineRow) and d.device_id in unknown
            else d
            for m, d in zip(messages, decoded, strict=True)
        ]

    async def _write_one_by_one(
        self, conn: Connection, messages: Sequence[RawMessage], decoded: list[Decoded]
    ) -> tuple[tuple[int, int], int]:
        readings = events = duplicates = 0
        for i, (message, row) in enumerate(zip(messages, decoded, strict=True)):
            try:
                async with conn.transaction():
                    result = await write_batch(conn, _batch_of([row]))
                readings += result.readings_inserted
                events += result.events_inserted
                duplicates += result.duplicates
            except STORE_REJECTED as exc:
                rejected = quarantine(
                    message, Reason.STORAGE_REJECTED, f"{type(exc).__name__}: {exc}",
                    None if isinstance(row, QuarantineRow) else row.device_id,
                )  # fmt: skip
                decoded[i] = rejected
                await self._quarantine_last_resort(conn, message, rejected)
        return (readings, events), duplicates

    async def _quarantine_last_resort(
        self, conn: Connection, message: RawMessage, rejected: QuarantineRow
    ) -> None:
        """Quarantine a message the store refused; if even that is refused, say so loudly and go on.

        Crashing would be worse: the unacknowledged message would come back and crash every restart.
        """
        try:
            async with conn.transaction():
                await write_batch(conn, _batch_of([rejected]))
        except STORE_REJECTED as exc:
            self._metrics.dropped.inc()
            log.error(
                "DROPPED a message the store refuses even to quarantine: topic %.200r, %d bytes: %s",
                message.topic, len(message.payload), exc,
            )  # fmt: skip

    def _record(
        self, decoded: list[Decoded], written: tuple[int, int], duplicates: int, acked: int, seconds: float
    ) -> None:
        m = self._metrics
        for row in decoded:
            if isinstance(row, QuarantineRow):
                m.quarantined.labels(row.reason).inc()
        m.written.labels("readings").inc(written[0])
        m.written.labels("events").inc(written[1])
        m.redelivered.inc(duplicates)
        m.acked.inc(acked)
        m.batch_seconds.observe(seconds)
        m.batch_rows.observe(len(decoded))


def _batch_of(decoded: Sequence[Decoded]) -> IngestBatch:
    batch = IngestBatch()
    for row in decoded:
        if isinstance(row, ReadingRow):
            batch.readings.append(row)
        elif isinstance(row, EventRow):
            batch.events.append(row)
        elif isinstance(row, StatusRow):
            batch.statuses.append(row)
        elif isinstance(row, CommandAnswerRow):
            batch.answers.append(row)
        elif isinstance(row, QuarantineRow):
            batch.quarantined.append(row)
    return batch
