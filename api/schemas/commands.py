"""Request and response bodies of the command endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from protocol.commands import CommandKind

__all__ = [
    "COMMAND_STATES",
    "CommandIn",
    "CommandOption",
    "CommandOptions",
    "CommandOut",
    "ConsentIn",
    "ConsentOut",
    "DesiredStateOut",
    "TransitionOut",
]


CommandState = Literal[
    "queued", "sent", "delivered", "succeeded", "failed", "rejected", "expired", "cancelled"
]
COMMAND_STATES: tuple[str, ...] = get_args(CommandState)


class CommandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: CommandKind
    params: dict[str, float | str] = Field(
        default_factory=dict,
        description="set_ch_setpoint: room_c or flow_c; set_dhw_setpoint: dhw_c; set_mode: mode; others: none",
    )
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)] | None = (
        None
    )
    ticket_id: int | None = Field(None, ge=1, description="the ticket this command belongs to")
    ttl_s: int | None = Field(
        None, ge=10, le=86_400, description="how long the command stays valid (default 10 min)"
    )
    if_version: int | None = Field(
        None, ge=0, description="setpoints and mode: the desired-state version you saw (409 when it moved on)"
    )
    no_gas_smell_confirmed: bool = Field(
        False, description="lockout_reset: the customer said there is no gas smell and no CO alarm"
    )


class CommandOut(BaseModel):
    command_id: UUID
    device_id: str
    kind: str
    params: dict[str, Any]
    state: CommandState
    requested_by: str
    role: str
    reason: str | None
    ticket_id: int | None
    case_id: int | None
    desired_version: int | None
    created_at: datetime
    expires_at: datetime
    result: dict[str, Any] | None
    attempts: int
    sent_at: datetime | None
    updated_at: datetime
    transitions: list[TransitionOut] = []


class TransitionOut(BaseModel):
    at: datetime
    from_state: str | None
    to_state: str
    actor: str
    detail: dict[str, Any] | None


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: list[Literal["all"] | CommandKind] = Field(min_length=1, description="kinds of command, or all")
    expires_at: datetime | None = None
    on_behalf_of_customer: bool = Field(
        False, description="an agent recording consent the customer gave on the phone (audited as such)"
    )


class ConsentOut(BaseModel):
    consent_id: int
    device_id: str
    scope: list[str]
    granted_by: str
    granted_via: str
    granted_at: datetime
    expires_at: datetime | None


class DesiredStateOut(BaseModel):
    device_id: str
    version: int
    desired: dict[str, Any]
    reported: dict[str, Any]
    reported_at: datetime | None
    differs: list[str] = Field(description="keys whose desired and reported values differ")


class CommandOption(BaseModel):
    kind: CommandKind
    available: bool
    reason: str | None = Field(None, description="why it is not available (a rule), for the console")


class CommandOptions(BaseModel):
    device_id: str
    options: list[CommandOption]
