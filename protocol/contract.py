"""Wire contract v1: the single owner of MQTT topics and payload models shared by devices and the gateway.

Everything a boiler or thermostat may send is described here and nowhere else; the simulator imports
this module and nothing else of the platform, so the contract cannot drift between the two sides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, NamedTuple

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "DEVICE_ID_PATTERN",
    "EVENT_CODE_PATTERN",
    "MEASUREMENT_FIELDS",
    "QOS",
    "TOPIC_ROOT",
    "EventPayload",
    "FieldRange",
    "MessageKind",
    "StatusPayload",
    "TelemetryPayload",
    "TopicError",
    "device_topic",
    "parse_topic",
    "status_topic",
    "subscription_filter",
]

TOPIC_ROOT: Final = "ondol/v1"
DEVICE_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"
EVENT_CODE_PATTERN: Final = r"^(E[0-9]{3}|A[0-9]{2})$"
QOS: Final = 1
"""Every topic of the contract is published at QoS 1 (at least once)."""

_DEVICE_ID_RE: Final = re.compile(DEVICE_ID_PATTERN)


class MessageKind(StrEnum):
    """The last topic level: what a message is about."""

    TELEMETRY = "telemetry"
    EVENTS = "events"
    STATUS = "status"
    COMMANDS = "commands"
    """Platform → device (protocol/commands.py); the gateway sees them on its subscription and skips them."""
    COMMAND_RESULTS = "command-results"
    """Device → platform: acknowledgements and results of commands (protocol/commands.py)."""


class TopicError(ValueError):
    """A topic that is not part of the contract."""


def device_topic(device_id: str, kind: MessageKind) -> str:
    """The topic a device publishes `kind` messages on."""
    if not _DEVICE_ID_RE.match(device_id):
        raise TopicError(f"device id {device_id!r} does not match {DEVICE_ID_PATTERN}")
    return f"{TOPIC_ROOT}/{device_id}/{kind.value}"


def status_topic(device_id: str) -> str:
    """The retained birth / last-will topic of a device."""
    return device_topic(device_id, MessageKind.STATUS)


def subscription_filter(share_group: str | None) -> str:
    """The filter a gateway subscribes with: every topic under the root, shared when a group is given.

    The gateway subscribes to the whole root (not only the three kinds) so that a message on a topic
    outside the contract is quarantined with a reason instead of vanishing unseen.
    """
    base = f"{TOPIC_ROOT}/#"
    return f"$share/{share_group}/{base}" if share_group else base


class ParsedTopic(NamedTuple):
    """A contract topic's parts (a named tuple: one is made per message the gateway decodes)."""

    device_id: str
    kind: MessageKind


_KINDS: Final = {k.value: k for k in MessageKind}


def parse_topic(topic: str) -> ParsedTopic:
    """Split a contract topic into device id and kind; raise TopicError for anything else."""
    parts = topic.split("/")
    if len(parts) != 4 or f"{parts[0]}/{parts[1]}" != TOPIC_ROOT:
        raise TopicError(f"topic {topic[:200]!r} is not {TOPIC_ROOT}/{{device_id}}/{{kind}}")
    device_id, kind = parts[2], parts[3]
    if not _DEVICE_ID_RE.match(device_id):
        raise TopicError(f"device id {device_id[:80]!r} does not match {DEVICE_ID_PATTERN}")
    if kind not in _KINDS:
        raise TopicError(f"unknown message kind {kind[:40]!r}; expected one of {sorted(_KINDS)}")
    return ParsedTopic(device_id=device_id, kind=_KINDS[kind])


@dataclass(frozen=True, slots=True)
class FieldRange:
    """Physical bounds of a measurement: outside them the sensor or the sender is broken."""

    low: float
    high: float
    unit: str
    meaning: str


MEASUREMENT_FIELDS: Final[dict[str, FieldRange]] = {
    "ch_flow_c": FieldRange(-30, 130, "°C", "central-heating flow water temperature (OpenTherm ID25)"),
    "ch_return_c": FieldRange(-30, 130, "°C", "central-heating return water temperature (ID28)"),
    "ch_setpoint_c": FieldRange(0, 100, "°C", "control setpoint for the flow water (ID1)"),
    "dhw_c": FieldRange(-30, 130, "°C", "domestic hot water temperature (ID26)"),
    "dhw_setpoint_c": FieldRange(0, 100, "°C", "domestic hot water setpoint (ID56)"),
    "outdoor_c": FieldRange(-50, 60, "°C", "outside temperature (ID27)"),
    "room_c": FieldRange(-30, 60, "°C", "room temperature at the thermostat (ID24)"),
    "room_setpoint_c": FieldRange(0, 40, "°C", "room setpoint (ID16)"),
    "flue_c": FieldRange(-40, 500, "°C", "exhaust (flue gas) temperature (ID33)"),
    "ch_pressure_bar": FieldRange(
        0, 6, "bar", "sealed-loop water pressure (ID18); null on open-tank systems"
    ),
    "auto_refill_count": FieldRange(0, 10**9, "count", "automatic make-up refills since installation"),
    "modulation_pct": FieldRange(0, 100, "%", "relative burner modulation (ID17)"),
    "flame_current_ua": FieldRange(0, 127, "µA", "flame ionisation current (ID36)"),
    "fan_rpm": FieldRange(0, 15000, "rpm", "combustion fan speed (ID35 × 60)"),
    "burner_starts": FieldRange(0, 10**12, "count", "successful burner starts (ID116)"),
    "failed_starts": FieldRange(0, 10**12, "count", "unsuccessful burner starts (ID113)"),
    "flame_loss_count": FieldRange(0, 10**12, "count", "flame signal too low / lost (ID114)"),
    "burner_hours": FieldRange(0, 10**6, "h", "burner operating hours (ID120)"),
    "dhw_flow_lpm": FieldRange(0, 40, "l/min", "domestic hot water flow (ID19)"),
    "gas_total_m3": FieldRange(0, 10**9, "m³", "accumulated gas use"),
}
"""Numeric measurement fields with their physical ranges; booleans and `mode` are listed in the model."""


def _ranged(name: str) -> Any:
    """The pydantic field of a measurement, bounded by its physical range."""
    bounds = MEASUREMENT_FIELDS[name]
    return Field(default=None, ge=bounds.low, le=bounds.high, description=bounds.meaning)


Seq = Annotated[int, Field(ge=0, le=2**63 - 1, description="increasing per device boot")]
Timestamp = Annotated[AwareDatetime, Field(description="RFC 3339 with an offset")]
Mode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


class TelemetryPayload(BaseModel):
    """A periodic report. Every measurement is optional and nullable; unknown extra fields are kept."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    seq: Seq
    ts: Timestamp
    ch_flow_c: float | None = _ranged("ch_flow_c")
    ch_return_c: float | None = _ranged("ch_return_c")
    ch_setpoint_c: float | None = _ranged("ch_setpoint_c")
    dhw_c: float | None = _ranged("dhw_c")
    dhw_setpoint_c: float | None = _ranged("dhw_setpoint_c")
    outdoor_c: float | None = _ranged("outdoor_c")
    room_c: float | None = _ranged("room_c")
    room_setpoint_c: float | None = _ranged("room_setpoint_c")
    flue_c: float | None = _ranged("flue_c")
    ch_pressure_bar: float | None = _ranged("ch_pressure_bar")
    water_level_low: bool | None = Field(default=None, description="expansion-tank low-water switch")
    auto_refill_count: int | None = _ranged("auto_refill_count")
    modulation_pct: float | None = _ranged("modulation_pct")
    flame_on: bool | None = Field(default=None, description="flame detected (ID0 slave bit 3)")
    flame_current_ua: float | None = _ranged("flame_current_ua")
    fan_rpm: float | None = _ranged("fan_rpm")
    burner_starts: int | None = _ranged("burner_starts")
    failed_starts: int | None = _ranged("failed_starts")
    flame_loss_count: int | None = _ranged("flame_loss_count")
    burner_hours: float | None = _ranged("burner_hours")
    dhw_flow_lpm: float | None = _ranged("dhw_flow_lpm")
    gas_total_m3: float | None = _ranged("gas_total_m3")
    mode: Mode | None = Field(default=None, description="operating mode, e.g. heat, away, ondol_heat, off")


class EventPayload(BaseModel):
    """An error code raised or cleared by the device."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    seq: Seq
    ts: Timestamp
    code: Annotated[str, StringConstraints(pattern=EVENT_CODE_PATTERN)]
    state: Literal["raised", "cleared"]


class StatusPayload(BaseModel):
    """Birth (`online: true`, retained) or last will (`online: false`)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    online: bool
    model: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    fw: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    ts: Timestamp | None = None


def encode(payload: BaseModel) -> bytes:
    """Serialise a payload as the contract's JSON (no nulls, RFC 3339 times)."""
    return payload.model_dump_json(exclude_none=True).encode()
