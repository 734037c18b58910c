"""Writes one ingest batch (readings, events, status, quarantine) with set-based statements.

The caller owns the transaction: the gateway commits a batch and only then acknowledges its
messages to the broker. Every statement here is idempotent, so a redelivered batch changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NamedTuple
from uuid import UUID

from telemetry import named_queries
from telemetry.database import Connection

__all__ = [
    "MEASUREMENT_COLUMNS",
    "READING_COLUMNS",
    "CommandAnswerRow",
    "EventRow",
    "IngestBatch",
    "QuarantineRow",
    "ReadingRow",
    "SkippedRow",
    "StatusRow",
    "WriteResult",
    "known_devices",
    "write_batch",
]

MEASUREMENT_COLUMNS: Final = (
    "ch_flow_c", "ch_return_c", "ch_setpoint_c", "dhw_c", "dhw_setpoint_c", "outdoor_c", "room_c",
    "room_setpoint_c", "flue_c", "ch_pressure_bar", "auto_refill_count", "modulation_pct",
    "flame_current_ua", "fan_rpm", "burner_starts", "failed_starts", "flame_loss_count", "burner_hours",
    "dhw_flow_lpm", "gas_total_m3", "water_level_low", "flame_on", "mode",
)  # fmt: skip
"""Measurement columns of `readings`, in the order of `ReadingRow.values` and of the insert query."""

READING_COLUMNS: Final = ("device_id", "ts", "seq", "received_at", *MEASUREMENT_COLUMNS, "extra")

_HOUR_END_MARGIN: Final = timedelta(minutes=5)
"""Matches the margin in the `store_readings` query: a refresh may close an hour this soon."""

MAX_QUARANTINED_TOPIC: Final = 1024
"""Characters of a rejected message's topic that are kept; the hash covers the whole."""

MAX_QUARANTINED_PAYLOAD: Final = 64 * 1024
"""Bytes of a rejected payload kept for inspection; the size and hash always cover the whole."""

_Q: Final = named_queries.load("ingest").require(
    "create_reading_stage", "store_readings", "insert_events", "touch_last_seen",
    "upsert_faults", "upsert_status", "insert_quarantine", "known_devices", "notify_events",
    "insert_command_answers",
)  # fmt: skip


class ReadingRow(NamedTuple):
    """One report, as the decoder makes it and the batch writer stores it. A named tuple, not a
    dataclass: one is made per message, and a tuple is built in one step where a frozen dataclass
    sets each field in turn (measured in the gateway's profile)."""

    device_id: str
    ts: datetime
    seq: int
    received_at: datetime
    values: tuple[Any, ...]
    """One value per MEASUREMENT_COLUMNS entry."""
    extra_json: str | None
    """Unknown fields the device sent, as a JSON object, or None."""


class EventRow(NamedTuple):
    """One raised or cleared code (a named tuple for the same reason as ReadingRow)."""

    device_id: str
    ts: datetime
    seq: int
    received_at: datetime
    code: str
    raised: bool


@dataclass(frozen=True, slots=True)
class StatusRow:
    device_id: str
    received_at: datetime
    online: bool
    model: str | None
    firmware: str | None
    retained: bool
    """A retained status replayed by the broker says nothing about when the device was last heard."""


@dataclass(frozen=True, slots=True)
class QuarantineRow:
    topic: str
    device_id: str | None
    reason: str
    detail: str
    payload: bytes
    received_at: datetime
    redelivery: bool = False
    """The broker marked it as a redelivery (MQTT DUP): it may be in the quarantine already."""


@dataclass(frozen=True, slots=True)
class CommandAnswerRow:
    """A device's answer to a command (protocol/commands.py), stored in `command_answers`; the
    commands feature's trigger applies it to the command in the same transaction."""

    device_id: str
    command_id: UUID
    stage: str
    ac: int
    ad: str
    av: int | None
    device_ts: datetime | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class SkippedRow:
    """A message that is not the gateway's to store: a command the platform itself published on a
    device's `commands` topic, which the gateway's subscription to the whole root also receives."""

    device_id: str


@dataclass(slots=True)
class IngestBatch:
    readings: list[ReadingRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    statuses: list[StatusRow] = field(default_factory=list)
    quarantined: list[QuarantineRow] = field(default_factory=list)
    answers: list[CommandAnswerRow] = field(default_factory=list)

    def __len__(self) -> int:
        return (len(self.readings) + len(self.events) + len(self.statuses) + len(self.quarantined)
                + len(self.answers))  # fmt: skip


@dataclass(frozen=True, slots=True)
class WriteResult:
    readings_inserted: int
    events_inserted: int
    duplicates: int
    """Readings and events already stored (redeliveries)."""


async def known_devices(conn: Connection, device_ids: Sequence[str]) -> set[str]:
    """Which of `device_ids` are registered."""
    rows = await conn.fetch(_Q["known_devices"], list(device_ids))
    return {str(r["device_id"]) for r in rows}


async def write_batch(conn: Connection, batch: IngestBatch) -> WriteResult:
    """Write everything in `batch`; call inside a transaction."""
    readings = await _write_readings(conn, batch.readings)
    events = await _write_events(conn, batch.events)
    await _write_statuses(conn, batch.statuses)
    await _write_quarantine(conn, batch.quarantined)
    await _write_answers(conn, batch.answers)
    return WriteResult(
        readings_inserted=readings,
        events_inserted=events,
        duplicates=len(batch.readings) - readings + len(batch.events) - events,
    )


async def _write_readings(conn: Connection, rows: list[ReadingRow]) -> int:
    if not rows:
        return 0
    await conn.execute(_Q["create_reading_stage"])
    await conn.copy_records_to_table(
        "reading_stage",
        records=[(r.device_id, r.ts, r.seq, r.received_at, *r.values, r.extra_json) for r in rows],
        columns=READING_COLUMNS,
    )
    low, high = _late_span(rows)
    sql, args = _Q.bind("store_readings", {"low": low, "high": high})
    return int(await conn.fetchval(sql, *args))


def _late_span(rows: list[ReadingRow]) -> tuple[datetime | None, datetime | None]:
    """The time span of readings that may fall into hours the rollup has already covered, or (None,
    None). Most batches hold only readings of the current hour, well before its end: those cannot be in
    a finished hour yet and are not looked at again. The rest let the database decide against the
    watermark."""
    low = min(r.ts for r in rows)
    clock = datetime.now(UTC)  # not the receive time: a batch may have waited out a database outage
    hour_start = clock.replace(minute=0, second=0, microsecond=0)
    if low >= hour_start and clock + _HOUR_END_MARGIN < hour_start + timedelta(hours=1):
        return None, None
    return low, max(r.ts for r in rows)


async def _write_events(conn: Connection, rows: list[EventRow]) -> int:
    if not rows:
        return 0
    inserted = int(
        await conn.fetchval(
            _Q["insert_events"],
            [r.device_id for r in rows],
            [r.ts for r in rows],
            [r.seq for r in rows],
            [r.received_at for r in rows],
            [r.code for r in rows],
            ["raised" if r.raised else "cleared" for r in rows],
        )
    )
    if inserted:
        await conn.execute(_Q["notify_events"])
    newest: dict[tuple[str, str], EventRow] = {}
    for r in rows:
        key = (r.device_id, r.code)
        seen = newest.get(key)
        if seen is None or (r.ts, r.seq) >= (seen.ts, seen.seq):
            newest[key] = r
    faults = [newest[k] for k in sorted(newest)]
    await conn.execute(
        _Q["upsert_faults"],
        [r.device_id for r in faults],
        [r.code for r in faults],
        [r.raised for r in faults],
        [r.ts for r in faults],
        [r.seq for r in faults],
    )
    last_seen: dict[str, datetime] = {}
    for r in rows:
        last_seen[r.device_id] = max(r.received_at, last_seen.get(r.device_id, r.received_at))
    devices = sorted(last_seen)
    await conn.execute(_Q["touch_last_seen"], devices, [last_seen[d] for d in devices])
    return inserted


async def _write_answers(conn: Connection, rows: list[CommandAnswerRow]) -> None:
    """Append the answers, in the order they came (a result may follow its acknowledgement in the
    same batch); a redelivered answer (same command, stage and code) is stored once."""
    if not rows:
        return
    await conn.execute(
        _Q["insert_command_answers"],
        [r.device_id for r in rows], [r.command_id for r in rows], [r.stage for r in rows],
        [r.ac for r in rows], [r.ad for r in rows], [r.av for r in rows], [r.device_ts for r in rows],
        [r.received_at for r in rows],
    )  # fmt: skip


async def _write_statuses(conn: Connection, rows: list[StatusRow]) -> None:
    if not rows:
        return
    newest: dict[str, StatusRow] = {}
    for r in rows:
        seen = newest.get(r.device_id)
        if seen is None or r.received_at >= seen.received_at:
            newest[r.device_id] = r
    statuses = [newest[d] for d in sorted(newest)]
    await conn.execute(
        _Q["upsert_status"],
        [r.device_id for r in statuses],
        [None if r.retained else r.received_at for r in statuses],
        [r.online for r in statuses],
        [r.received_at for r in statuses],
        [r.model for r in statuses],
        [r.firmware for r in statuses],
    )


async def _write_quarantine(conn: Connection, rows: list[QuarantineRow]) -> None:
    if not rows:
        return
    merged: dict[tuple[bytes, bytes], _QuarantineGroup] = {}
    for r in rows:
        key = (hashlib.sha256(r.topic.encode()).digest(), hashlib.sha256(r.payload).digest())
        group = merged.get(key)
        if group is None:
            merged[key] = _QuarantineGroup(r, r.received_at, r.received_at, 0 if r.redelivery else 1)
        else:
            group.first_seen = min(group.first_seen, r.received_at)
            group.last_seen = max(group.last_seen, r.received_at)
            group.first_deliveries += 0 if r.redelivery else 1
    keys = sorted(merged)  # a stable order: concurrent gateways lock rows in the same order
    groups = [merged[k] for k in keys]
    await conn.execute(
        _Q["insert_quarantine"],
        [g.row.topic[:MAX_QUARANTINED_TOPIC] for g in groups],
        [topic for topic, _ in keys],
        [g.row.device_id for g in groups],
        [g.row.reason for g in groups],
        [g.row.detail for g in groups],
        [g.row.payload[:MAX_QUARANTINED_PAYLOAD] for g in groups],
        [len(g.row.payload) for g in groups],
        [payload for _, payload in keys],
        [g.first_seen for g in groups],
        [g.last_seen for g in groups],
        [g.first_deliveries for g in groups],
    )


@dataclass(slots=True)
class _QuarantineGroup:
    row: QuarantineRow
    first_seen: datetime
    last_seen: datetime
    first_deliveries: int
