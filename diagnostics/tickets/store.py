"""Reading tickets for agents: the queue with its filters, one ticket with its evidence and history."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from diagnostics.catalog import load_catalog
from telemetry import named_queries
from telemetry.database import Connection, Row
from telemetry.json_values import JsonObject

__all__ = [
    "QUEUE_CLASSES",
    "Queue",
    "QueueFilter",
    "QueueItem",
    "TicketDetail",
    "TicketFilter",
    "TicketView",
    "get_ticket",
    "list_tickets",
    "open_tickets_of_device",
    "safety_critical_codes",
    "ticket_queue",
]

_Q: Final = named_queries.load("tickets", package="diagnostics.tickets").require(
    "get_ticket", "list_tickets", "open_tickets_of_device", "queue_counts", "ticket_alerts", "ticket_events", "ticket_notes", "ticket_queue", "ticket_transitions",
)  # fmt: skip

QUEUE_CLASSES: Final = ("emergency", "safety", "priority-1", "priority-2", "priority-3", "priority-4")
"""The queue's classes in working order, indexed by the store's ticket_queue_class (migration 0018):
what a row says about why it is where it is."""


def safety_critical_codes() -> list[str]:
    """The catalog's safety-critical codes: a ticket for any of them is worked right after emergencies,
    whatever its priority (an escalated repair must not pass a false flame waiting for its call)."""
    return sorted(e.code for e in load_catalog().entries() if e.safety_critical)


@dataclass(frozen=True, slots=True)
class TicketView:
    ticket_id: int
    device_id: str
    family: str
    code: str
    codes: list[str]
    kind: str
    status: str
    priority: int
    occurrences: int
    opened_at: datetime
    updated_at: datetime
    first_raised_at: datetime
    last_raised_at: datetime
    fault_cleared_at: datetime | None
    contact_due_at: datetime
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
    rule: str
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Transition:
    from_status: str | None
    to_status: str
    at: datetime
    actor: str
    note: str | None
    reason: str | None
    """Why the engine (or an override) made the entry: opened, contact_overdue, safety_override, …"""
    details: JsonObject | None


@dataclass(frozen=True, slots=True)
class EvidenceEvent:
    ts: datetime
    seq: int
    code: str
    state: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class AlertView:
    alert_id: int
    phone: str
    channel: str
    kind: str
    code: str
    message_ko: str
    message_en: str
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Note:
    note_id: int
    at: datetime
    author: str
    kind: str
    body: str


@dataclass(frozen=True, slots=True)
class TicketDetail:
    ticket: TicketView
    evidence: JsonObject
    transitions: list[Transition]
    events: list[EvidenceEvent]
    alerts: list[AlertView]
    notes: list[Note]
    queue_class: int = 0
    """Its class in the work queue (an index of QUEUE_CLASSES)."""
    service_point_name: str | None = None
    service_point_name_en: str | None = None


@dataclass(frozen=True, slots=True)
class TicketFilter:
    status: str | None = None
    priority: int | None = None
    service_point_id: str | None = None
    region: str | None = None
    code: str | None = None
    sla_breached: bool | None = None
    device_id: str | None = None
    contact_phone: str | None = None
    """Only tickets of devices on which this phone (national form) is a contact."""


_VIEW_FIELDS: Final = frozenset(TicketView.__dataclass_fields__)


def _view(row: Row) -> TicketView:
    return TicketView(**{k: v for k, v in dict(row).items() if k in _VIEW_FIELDS})


def _transition(row: Row) -> Transition:
    fields = dict(row)
    details = fields.pop("details")
    return Transition(**fields, details=json.loads(details) if details is not None else None)


async def list_tickets(
    conn: Connection, *, where: TicketFilter, before_id: int | None, limit: int
) -> list[TicketView]:
    rows = await conn.fetch(
        _Q["list_tickets"], where.status, where.priority, where.service_point_id, where.region, where.code,
        where.sla_breached, where.device_id, before_id, limit, where.contact_phone,
    )  # fmt: skip
    return [_view(r) for r in rows]


async def get_ticket(conn: Connection, *, ticket_id: int) -> TicketDetail | None:
    row = await conn.fetchrow(_Q["get_ticket"], ticket_id, safety_critical_codes())
    if row is None:
        return None
    ticket = _view(row)
    transitions = [_transition(r) for r in await conn.fetch(_Q["ticket_transitions"], ticket_id)]
    events = [
        EvidenceEvent(**dict(r)) for r in await conn.fetch(_Q["ticket_events"], ticket_id, ticket.codes)
    ]
    alerts = [AlertView(**dict(r)) for r in await conn.fetch(_Q["ticket_alerts"], ticket_id)]
    notes = [Note(**dict(r)) for r in await conn.fetch(_Q["ticket_notes"], ticket_id)]
    return TicketDetail(
        ticket, json.loads(row["evidence"]), transitions, events, alerts, notes, row["queue_class"],
        row["service_point_name"], row["service_point_name_en"],
    )  # fmt: skip


async def open_tickets_of_device(conn: Connection, *, device_id: str) -> list[TicketView]:
    return [_view(r) for r in await conn.fetch(_Q["open_tickets_of_device"], device_id)]


@dataclass(frozen=True, slots=True)
class QueueFilter:
    service_point_id: str | None = None
    region: str | None = None
    status: str | None = None
    sla_breached: bool | None = None


@dataclass(frozen=True, slots=True)
class QueueItem:
    ticket: TicketView
    customer_name: str | None
    address: str | None
    queue_class: int
    """Why it is where it is: an index of QUEUE_CLASSES."""
    service_point_name: str | None
    service_point_name_en: str | None


@dataclass(frozen=True, slots=True)
class Queue:
    items: list[QueueItem]
    open: int
    """Unfinished tickets under the service point and region filters."""
    breached: int
    """Of those, how many broke the contact-within-the-window promise."""


async def ticket_queue(conn: Connection, where: QueueFilter, *, limit: int) -> Queue:
    """Unfinished tickets in working order (the order is the query's: class, then breaches the longest
    ago, then the nearest contact deadline), with the counts."""
    rows = await conn.fetch(
        _Q["ticket_queue"], where.service_point_id, where.region, where.status, where.sla_breached, limit,
        safety_critical_codes(),
    )  # fmt: skip
    counts = await conn.fetchrow(_Q["queue_counts"], where.service_point_id, where.region)
    assert counts is not None  # an aggregate always answers one row
    items = [
        QueueItem(_view(r), r["customer_name"], r["address"], r["queue_class"], r["service_point_name"],
                  r["service_point_name_en"])
        for r in rows
    ]  # fmt: skip
    return Queue(items, counts["open"], counts["breached"])
