"""Wire contract v1 for commands: what the platform asks a device to do, and how the device answers.

A command goes to `ondol/v1/{device}/commands` (QoS 1); the device answers on
`ondol/v1/{device}/command-results` (QoS 1), first with an acknowledgement (stage `ack`: accepted
or refused), then, for an accepted command, with the final result (stage `result`). The shape of an
answer follows Azure IoT Plug and Play's `{ac, av, ad}`: a status code, the version of the desired
state it applied, and a description. MQTT 5 carries the same in Response Topic, Correlation Data
(the command id) and a Message Expiry Interval; a 3.1.1 device reads it all from the payload.

A device must run a command at most once: a second delivery of an id it has seen gets the answers
it gave the first time, and a command past `expires_at` is refused with 410, never run.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Final, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from protocol.contract import MessageKind, device_topic

__all__ = [
    "ACCEPTED",
    "COMMAND_VERSION",
    "EXPIRED",
    "SUCCEEDED",
    "CommandAnswer",
    "CommandKind",
    "CommandMessage",
    "DeviceMode",
    "answer_topic",
    "command_topic",
    "seconds_left",
]

COMMAND_VERSION: Final = 1

ACCEPTED: Final = 202
"""`ac` of an acknowledgement that accepts the command."""
SUCCEEDED: Final = 200
"""`ac` of a final result that reports success."""
EXPIRED: Final = 410
"""`ac` of an acknowledgement refusing a command that arrived after its `expires_at`."""


class CommandKind(StrEnum):
    LOCKOUT_RESET = "lockout_reset"
    """OpenTherm ID 4 request code 1 (BLOR): only if ID 5 HB1 says the boiler accepts it."""
    SET_CH_SETPOINT = "set_ch_setpoint"
    """`params`: `{"room_c": 21.5}` or `{"flow_c": 60}`, within the model's range."""
    SET_DHW_SETPOINT = "set_dhw_setpoint"
    """`params`: `{"dhw_c": 45}`, within the model's range."""
    SET_MODE = "set_mode"
    """`params`: `{"mode": "heating" | "away" | "frost_protection" | "off"}`."""
    WATER_FILL = "water_fill"
    """OpenTherm ID 4 request code 2: only models with automatic filling (ID 3 HB6)."""
    REQUEST_DIAGNOSTICS = "request_diagnostics"
    """The device publishes a full telemetry snapshot at once."""


class DeviceMode(StrEnum):
    HEATING = "heating"
    AWAY = "away"
    FROST_PROTECTION = "frost_protection"
    OFF = "off"


Params = dict[str, float | str]


class CommandMessage(BaseModel):
    """A command as the device receives it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = COMMAND_VERSION
    id: UUID
    kind: CommandKind
    params: Params = Field(default_factory=dict)
    issued_at: AwareDatetime
    expires_at: AwareDatetime
    response_topic: str
    """Where to answer: the device's own `command-results` topic."""


class CommandAnswer(BaseModel):
    """A device's answer to a command: `stage` ack (accepted: ac 202; refused: 4xx, 410 expired)
    or result (succeeded: ac 200; failed: anything else)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    id: UUID
    stage: Literal["ack", "result"]
    ac: Annotated[int, Field(ge=100, le=599)]
    ad: Annotated[str, StringConstraints(max_length=500)] = ""
    av: Annotated[int, Field(ge=0)] | None = None
    """The desired-state version the device applied (setpoints and mode)."""
    ts: AwareDatetime | None = None

    @classmethod
    def parse(cls, payload: bytes | str) -> CommandAnswer:
        """Parse an answer from JSON (the id and times as strings, as JSON has them)."""
        return cls.model_validate_json(payload, strict=False)


def command_topic(device_id: str) -> str:
    """Where a device receives its commands (subscribe at QoS 1)."""
    return device_topic(device_id, MessageKind.COMMANDS)


def answer_topic(device_id: str) -> str:
    """Where a device answers its commands."""
    return device_topic(device_id, MessageKind.COMMAND_RESULTS)


def seconds_left(message: CommandMessage, now: datetime) -> float:
    """How long the command is still valid."""
    return (message.expires_at - now).total_seconds()
