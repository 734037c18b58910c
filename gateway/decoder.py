"""Turns one raw MQTT message into a row for the store, or a quarantine entry with its reason.

Pure and total: any bytes on any topic produce exactly one outcome and never an exception, which is
what the fuzz tests check. Validation happens once, here, with the wire contract's models.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import to_json

from gateway.mqtt_edge import RawMessage
from protocol.commands import CommandAnswer
from protocol.contract import (
    EventPayload,
    MessageKind,
    StatusPayload,
    TelemetryPayload,
    TopicError,
    parse_topic,
)
from telemetry.readings import (
    MEASUREMENT_COLUMNS,
    CommandAnswerRow,
    EventRow,
    QuarantineRow,
    ReadingRow,
    SkippedRow,
    StatusRow,
)

__all__ = ["DecodeLimits", "Decoded", "Reason", "decode"]

_MAX_DETAIL: Final = 1000
_measurements: Final = operator.attrgetter(*MEASUREMENT_COLUMNS)
"""A report's measurements in column order, in one C call (this runs for every message)."""
MAX_TOPIC_LENGTH: Final = 128
"""Longer than any contract topic (root, a 64-character id and a kind)."""


class Reason(StrEnum):
    """Why a message went to quarantine; stable strings that operators filter on. The entry's detail
    says what exactly (which field, which byte)."""

    OVERSIZED = "oversized"
    TOPIC_OUTSIDE_CONTRACT = "topic_outside_contract"
    NOT_UTF8 = "not_utf8"
    BAD_JSON = "bad_json"
    NOT_AN_OBJECT = "not_an_object"
    INVALID_PAYLOAD = "invalid_payload"
    OUT_OF_RANGE = "out_of_range"
    CLOCK_SKEW = "clock_skew"
    UNKNOWN_DEVICE = "unknown_device"
    STORAGE_REJECTED = "storage_rejected"


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    max_payload_bytes: int = 16 * 1024
    max_future_skew: timedelta = timedelta(minutes=5)
    max_age: timedelta = timedelta(days=30)


Decoded = ReadingRow | EventRow | StatusRow | QuarantineRow | CommandAnswerRow | SkippedRow


def quarantine(
    message: RawMessage, reason: Reason, detail: str, device_id: str | None = None
) -> QuarantineRow:
    """A quarantine entry for `message`."""
    clean = detail.replace("\x00", "\\x00")[:_MAX_DETAIL]
    return QuarantineRow(
        topic=message.topic,
        device_id=device_id,
        reason=reason.value,
        detail=clean,
        payload=message.payload,
        received_at=datetime.fromtimestamp(message.received_at, UTC),
        redelivery=message.dup,
    )


def decode(message: RawMessage, limits: DecodeLimits) -> Decoded:
    """Validate `message` against the wire contract."""
    if len(message.payload) > limits.max_payload_bytes:
        return quarantine(
            message, Reason.OVERSIZED,
            f"payload of {len(message.payload)} bytes exceeds the limit of {limits.max_payload_bytes}",
        )  # fmt: skip
    if len(message.topic) > MAX_TOPIC_LENGTH:
        return quarantine(message, Reason.TOPIC_OUTSIDE_CONTRACT, f"topic of {len(message.topic)} characters")
    try:
        topic = parse_topic(message.topic)
    except TopicError as exc:
        return quarantine(message, Reason.TOPIC_OUTSIDE_CONTRACT, str(exc))
    device_id = topic.device_id
    if not message.payload.strip():
        return quarantine(message, Reason.BAD_JSON, "empty payload", device_id)
    if b"\\u0000" in message.payload:
        return quarantine(
            message, Reason.INVALID_PAYLOAD, "NUL characters (\\u0000) are not accepted", device_id
        )
    window = _window(message.received_at, limits)
    try:
        if topic.kind is MessageKind.TELEMETRY:
            return _reading(message, device_id, window)
        if topic.kind is MessageKind.EVENTS:
            return _event(message, device_id, window)
        if topic.kind is MessageKind.STATUS:
            return _status(message, device_id, window.received_at)
        if topic.kind is MessageKind.COMMAND_RESULTS:
            return _answer(message, device_id, window.received_at)
        return SkippedRow(device_id)  # a command the platform published: the dispatcher's, not ours
    except ValidationError as exc:
        reason, detail = _classify(exc)
        if reason is Reason.BAD_JSON and (not_utf8 := _utf8_problem(message.payload)) is not None:
            reason, detail = Reason.NOT_UTF8, not_utf8
        return quarantine(message, reason, detail, device_id)
    except Exception as exc:
        return quarantine(message, Reason.INVALID_PAYLOAD, f"{type(exc).__name__}: {exc}", device_id)


def _utf8_problem(payload: bytes) -> str | None:
    """Where `payload` stops being UTF-8, for the quarantine's detail; None when it is UTF-8. Asked
    only of payloads the JSON parser refused (it refuses every one that is not UTF-8)."""
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"payload is not UTF-8: {exc.reason} 0x{payload[exc.start]:02x} at byte {exc.start}"
    return None


def _reading(message: RawMessage, device_id: str, window: _Window) -> Decoded:
    report = TelemetryPayload.model_validate_json(message.payload)
    skew = _clock_problem(report.ts, window)
    if skew:
        return quarantine(message, Reason.CLOCK_SKEW, skew, device_id)
    extra = report.model_extra
    extra_json = _extra_json(extra) if extra else None
    if extra_json is _NOT_JSON:
        return quarantine(
            message,
            Reason.INVALID_PAYLOAD,
            "extra fields hold NaN or Infinity, which JSON cannot store",
            device_id,
        )
    return ReadingRow(
        device_id=device_id,
        ts=report.ts,
        seq=report.seq,
        received_at=window.received_at,
        values=_measurements(report),
        extra_json=extra_json,
    )


_NOT_JSON: Final = "\x00not json"
"""What `_extra_json` answers for extra fields JSON cannot store (NaN, Infinity)."""


def _extra_json(extra: dict[str, Any]) -> str:
    """The device's extra fields as a JSON object, or _NOT_JSON when they hold NaN or Infinity (JSON
    has neither; the parser accepts them). Serialised by pydantic-core, about ten times faster than
    the json module for these small objects: once with non-finite numbers as null and once as
    themselves, which differ exactly when there is one."""
    text = to_json(extra, inf_nan_mode="null")
    if text != to_json(extra, inf_nan_mode="constants"):
        return _NOT_JSON
    return text.decode()


def _event(message: RawMessage, device_id: str, window: _Window) -> Decoded:
    event = EventPayload.model_validate_json(message.payload)
    skew = _clock_problem(event.ts, window)
    if skew:
        return quarantine(message, Reason.CLOCK_SKEW, skew, device_id)
    return EventRow(
        device_id=device_id,
        ts=event.ts,
        seq=event.seq,
        received_at=window.received_at,
        code=event.code,
        raised=event.state == "raised",
    )


def _status(message: RawMessage, device_id: str, received_at: datetime) -> Decoded:
    status = StatusPayload.model_validate_json(message.payload)
    return StatusRow(
        device_id=device_id,
        received_at=received_at,
        online=status.online,
        model=status.model,
        firmware=status.fw,
        retained=message.retain,
    )


def _answer(message: RawMessage, device_id: str, received_at: datetime) -> Decoded:
    answer = CommandAnswer.parse(message.payload)
    return CommandAnswerRow(
        device_id=device_id, command_id=answer.id, stage=answer.stage, ac=answer.ac, ad=answer.ad, av=answer.av,
        device_ts=answer.ts, received_at=received_at,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Window:
    """A read's time, and the report times it accepts (no older than max_age, no further ahead than
    max_future_skew)."""

    at: float
    limits: DecodeLimits
    received_at: datetime
    earliest: datetime
    latest: datetime


_last_window = _Window(0.0, DecodeLimits(), datetime.fromtimestamp(0, UTC), datetime.min.replace(tzinfo=UTC),
                       datetime.max.replace(tzinfo=UTC))  # fmt: skip


def _window(received_at: float, limits: DecodeLimits) -> _Window:
    """The window of a read. The messages of one read of the socket share their time, so the last one
    is kept: a datetime and its bounds per message cost about 1.5 µs in the gateway's profile."""
    global _last_window
    window = _last_window
    if window.at != received_at or window.limits is not limits:
        at = datetime.fromtimestamp(received_at, UTC)
        window = _last_window = _Window(
            received_at, limits, at, at - limits.max_age, at + limits.max_future_skew
        )
    return window


def _clock_problem(ts: datetime, window: _Window) -> str | None:
    if window.earliest <= ts <= window.latest:
        return None
    received_at, limits = window.received_at, window.limits
    if ts - received_at > limits.max_future_skew:
        return f"ts {ts.isoformat()} is {ts - received_at} ahead of the gateway's clock"
    if received_at - ts > limits.max_age:
        return f"ts {ts.isoformat()} is older than the {limits.max_age.days}-day backfill limit"
    return None


_RANGE_ERRORS: Final = frozenset({"greater_than_equal", "less_than_equal", "greater_than", "less_than"})


def _classify(exc: ValidationError) -> tuple[Reason, str]:
    """Map pydantic's errors onto our reasons, with a readable summary of the first few."""
    errors = exc.errors(include_url=False)
    kinds = {"not_a_number" if _not_a_number(e) else e["type"] for e in errors}
    summary = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {_message(e)}" for e in errors[:5]
    )
    if "json_invalid" in kinds:
        return Reason.BAD_JSON, summary
    if kinds & {"model_type", "model_attributes_type", "dict_type"}:
        return Reason.NOT_AN_OBJECT, summary
    if kinds and kinds <= _RANGE_ERRORS:
        return Reason.OUT_OF_RANGE, summary
    return Reason.INVALID_PAYLOAD, summary


def _not_a_number(error: Any) -> bool:
    """NaN or ±Infinity where a number belongs (the parser reads them, JSON has neither): no physical
    range check can say anything about them."""
    value = error.get("input")
    return isinstance(value, float) and not math.isfinite(value)


def _message(error: Any) -> str:
    if _not_a_number(error):
        value = error["input"]
        return f"{'NaN' if math.isnan(value) else ('-Infinity' if value < 0 else 'Infinity')} is not a number"
    return str(error["msg"])
