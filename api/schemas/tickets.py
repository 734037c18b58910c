"""Bodies of the ticket and catalog endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.user_text import UserText
from diagnostics.tickets.lifecycle import Status

__all__ = [
    "AssignmentIn",
    "CatalogCodeOut",
    "NoteIn",
    "NoteOut",
    "RepairItemIn",
    "RepairReportIn",
    "RepairReportOut",
    "TicketDetailOut",
    "TicketOut",
    "TicketPage",
    "TransitionIn",
]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TicketOut(_Out):
    ticket_id: int
    device_id: str
    family: str
    code: str
    codes: list[str]
    kind: Literal["emergency", "urgent", "repair", "planned"]
    status: Status
    priority: int = Field(description="1 emergency, 2 urgent, 3 normal, 4 planned")
    occurrences: int = Field(description="How many times the fault was raised in this episode")
    opened_at: datetime
    updated_at: datetime
    first_raised_at: datetime
    last_raised_at: datetime
    fault_cleared_at: datetime | None
    contact_due_at: datetime = Field(description="The customer must be contacted by then")
    contacted_at: datetime | None
    sla_breached: bool
    escalated_at: datetime | None
    escalations: int
    remote_resolution_proposed_at: datetime | None
    service_point_id: str | None
    service_point_distance_km: float | None
    technician: str | None
    assigned_at: datetime | None
    assigned_by: str | None
    region: str | None
    in_warranty: bool | None
    warranty_ends_on: date | None
    rule: str = Field(description="The catalog rule that opened the ticket")
    closed_at: datetime | None


class TransitionOut(_Out):
    from_status: str | None
    to_status: str
    at: datetime
    actor: str
    note: str | None
    reason: str | None = Field(
        None,
        description="Why the entry was made, for entries that need one: opened, contact_overdue, "
        "safety_alert_unacknowledged, remote_resolution_proposed, prediction_confirmed, safety_override.",
    )
    details: dict[str, Any] | None = Field(
        None, description="The reason's facts (codes, times, who was alerted)."
    )


class EvidenceEventOut(_Out):
    ts: datetime
    seq: int
    code: str
    state: str
    received_at: datetime


class AlertOut(_Out):
    alert_id: int
    phone: str
    channel: str
    kind: str
    code: str
    message_ko: str
    message_en: str
    status: str
    created_at: datetime


class NoteOut(_Out):
    note_id: int
    at: datetime
    author: str
    kind: Literal["note", "assignment"]
    body: str


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    author: UserText | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="The person acting, for the audit trail (an agent id); default: the API key's name. "
        "Technician and customer keys always act as themselves.",
    )
    body: UserText = Field(min_length=1, max_length=4000)


class AssignmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_point_id: str | None = Field(
        None, min_length=1, max_length=64, description="Omit to keep the current one"
    )
    technician: UserText | None = Field(None, min_length=1, max_length=100, description="Omit to clear")
    actor: UserText | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="The person acting, for the audit trail (an agent id); default: the API key's name. "
        "Technician and customer keys always act as themselves.",
    )


class TicketDetailOut(BaseModel):
    ticket: TicketOut
    evidence: dict[str, Any] = Field(
        description="Why the engine opened it: rule, trigger, telemetry, routing, warranty"
    )
    transitions: list[TransitionOut]
    events: list[EvidenceEventOut]
    alerts: list[AlertOut]
    notes: list[NoteOut]


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: Status
    actor: UserText | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="The person acting, for the audit trail (an agent id); default: the API key's name. "
        "Technician and customer keys always act as themselves.",
    )
    note: UserText | None = Field(default=None, max_length=2000)
    override_active_safety_code: bool = Field(
        False,
        description="End the ticket although a safety-critical code of its fault is still active on the device "
        "(admin or technician only; the note must say why, at least 10 characters). Recorded in the audit trail.",
    )

    @model_validator(mode="after")
    def _override_says_why(self) -> TransitionIn:
        if self.override_active_safety_code and len((self.note or "").strip()) < 10:
            raise ValueError(
                "an override of an active safety-critical code needs a note saying why (10+ characters)"
            )
        return self


class BilingualOut(_Out):
    ko: str
    en: str


class StepsOut(_Out):
    ko: list[str]
    en: list[str]


class CatalogCodeOut(_Out):
    code: str
    display: str
    name: BilingualOut
    customer_text: BilingualOut
    category: str
    family: str
    severity: str
    safety_critical: bool
    lockout: str
    self_fix: str
    steps: StepsOut
    remote_reset: bool
    remote_reset_condition: str | None
    dispatch: str
    likely_parts: list[str]
    causes: list[str]
    origin: str
    confidence: str


class RepairItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: UserText = Field(
        min_length=1, max_length=200, description="A part or a service, as the customer reads it"
    )
    amount_won: int = Field(ge=0, le=10_000_000)


class RepairReportIn(BaseModel):
    """What the technician did and what it cost; the customer's page shows it after the visit."""

    model_config = ConfigDict(extra="forbid")

    summary: UserText = Field(min_length=1, max_length=2000)
    items: list[RepairItemIn] = Field(max_length=50, description="Parts and services, each with its amount")
    labour_won: int = Field(ge=0, le=10_000_000)
    warranty_covered: bool = Field(description="The warranty pays: the customer is charged nothing")


class RepairReportOut(_Out):
    ticket_id: int
    summary: str
    items: list[dict[str, Any]]
    labour_won: int
    warranty_covered: bool
    total_won: int = Field(description="What the customer pays: parts and labour, or 0 under warranty")
    entered_by: str
    entered_at: datetime
