"""The fault engine's store: fault cases, predictions and failures, what the engine reads about a
device (its facts, its contacts), and the ticket side of its decisions. Rows come back as frozen
dataclasses; statements with many parameters are bound by name.

diagnostics/faults owns fault_cases, predictions and diagnostic_failures. The ticket statements here
(a ticket opened with its case, a raise counted on both, a fault cleared, a prediction confirmed)
write a case and its ticket in one statement, so that neither is ever seen without the other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, TypeVar

from diagnostics.messages.texts import PointName
from telemetry import named_queries
from telemetry.database import Connection
from telemetry.event_inbox import InboxEvent
from telemetry.json_values import JsonValue

__all__ = [
    "ConfirmedPrediction",
    "Contact",
    "DeviceFacts",
    "GuidedCase",
    "MissingRowError",
    "NewCase",
    "NewPrediction",
    "NewTicket",
    "OpenCase",
    "OpenedTicket",
    "RecentResolution",
    "active_codes",
    "case_cleared",
    "close_case",
    "close_held_case",
    "close_ticketed_case",
    "confirm_predictions",
    "confirm_ticket",
    "customer_said_fixed",
    "device_facts",
    "every_contact",
    "first_contacts",
    "first_contacts_of",
    "has_open_case",
    "has_open_prediction",
    "hold_case",
    "insert_case",
    "insert_prediction",
    "lock_open_case",
    "lock_recent_resolution",
    "open_ticket",
    "overdue_guidance",
    "postpone_guidance",
    "record_failure",
    "repeat",
    "service_point_names",
    "ticket_fault_cleared",
]

_Q: Final = named_queries.load("engine", package="diagnostics.faults").require(
    "active_codes", "case_cleared", "close_case", "close_case_of_ticket", "confirm_predictions", "confirm_ticket",
    "close_held_case", "contacts", "customer_said_fixed", "device_facts", "every_contact", "first_contacts_of", "hold_case", "insert_case", "insert_prediction", "lock_open_case", "lock_recent_resolution",
    "open_case_in_family", "open_prediction_in_family", "open_ticket", "overdue_guidance",
    "postpone_guidance_deadline", "record_failure", "repeat", "ticket_fault_cleared", "ticket_service_point",
)  # fmt: skip


_Row = TypeVar("_Row")


class MissingRowError(LookupError):
    """A row the engine relies on is missing (the device deleted meanwhile?)."""


@dataclass(frozen=True, slots=True)
class OpenCase:
    """The device's open case in a fault family, locked until the transaction ends."""

    case_id: int
    status: str
    """guidance | informed | ticketed"""
    raises: int
    ticket_id: int | None
    code: str


async def lock_open_case(conn: Connection, device_id: str, family: str) -> OpenCase | None:
    row = await conn.fetchrow(_Q["lock_open_case"], device_id, family)
    return OpenCase(**dict(row)) if row is not None else None


@dataclass(frozen=True, slots=True)
class RecentResolution:
    case_id: int
    customer_said_fixed: bool
    """The customer also said, through the case's link, that the boiler worked again."""


async def lock_recent_resolution(
    conn: Connection, device_id: str, family: str, since: datetime
) -> RecentResolution | None:
    """The newest case of the family the customer resolved whose fault cleared at or after `since`
    (locked), or None."""
    row = await conn.fetchrow(_Q["lock_recent_resolution"], device_id, family, since)
    return (
        RecentResolution(int(row["case_id"]), bool(row["customer_said_fixed"])) if row is not None else None
    )


async def has_open_case(conn: Connection, device_id: str, family: str) -> bool:
    return await conn.fetchval(_Q["open_case_in_family"], device_id, family) is not None


async def has_open_prediction(conn: Connection, device_id: str, family: str) -> bool:
    return await conn.fetchval(_Q["open_prediction_in_family"], device_id, family) is not None


@dataclass(frozen=True, slots=True)
class NewCase:
    """A case the customer is guided or informed about (no ticket)."""

    device_id: str
    family: str
    code: str
    status: str
    """guidance | informed"""
    raised_at: datetime
    guidance_deadline: datetime | None
    rule: str


async def insert_case(conn: Connection, case: NewCase) -> int:
    sql, args = _Q.bind("insert_case", {
        "device_id": case.device_id, "family": case.family, "code": case.code, "status": case.status,
        "raised_at": case.raised_at, "guidance_deadline": case.guidance_deadline, "rule": case.rule,
    })  # fmt: skip
    return int(await conn.fetchval(sql, *args))


async def repeat(conn: Connection, case_id: int, code: str, at: datetime) -> None:
    """The fault came back while its case is open: counted on the case, and on its ticket if any."""
    await conn.execute(_Q["repeat"], case_id, code, at)


async def close_case(conn: Connection, case_id: int, status: str, at: datetime) -> None:
    await conn.execute(_Q["close_case"], case_id, status, at)


async def close_ticketed_case(conn: Connection, ticket_id: int) -> None:
    """The ticket ended: so does its case."""
    await conn.execute(_Q["close_case_of_ticket"], ticket_id)


async def case_cleared(conn: Connection, case_id: int, at: datetime) -> None:
    await conn.execute(_Q["case_cleared"], case_id, at)


async def ticket_fault_cleared(conn: Connection, ticket_id: int, at: datetime) -> None:
    await conn.execute(_Q["ticket_fault_cleared"], ticket_id, at)


async def active_codes(conn: Connection, device_id: str) -> list[str]:
    return [str(r["code"]) for r in await conn.fetch(_Q["active_codes"], device_id)]


@dataclass(frozen=True, slots=True)
class GuidedCase:
    """A guided case past its deadline, locked for this worker."""

    case_id: int
    device_id: str
    family: str
    code: str
    status: str
    raises: int
    ticket_id: int | None
    guidance_deadline: datetime
    first_raised_at: datetime


async def overdue_guidance(conn: Connection, *, batch: int) -> list[GuidedCase]:
    return [GuidedCase(**dict(r)) for r in await conn.fetch(_Q["overdue_guidance"], batch)]


async def postpone_guidance(conn: Connection, case_id: int, until: datetime) -> None:
    await conn.execute(_Q["postpone_guidance_deadline"], case_id, until)


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What routing, warranty and a ticket's evidence need to know about the device."""

    model: str
    installed_on: date | None
    latitude: float | None
    longitude: float | None
    region: str | None
    latest: str | None
    """Its latest reading, as JSON text."""
    warranty_years: int


async def device_facts(conn: Connection, device_id: str, *, default_warranty_years: int) -> DeviceFacts:
    return DeviceFacts(
        **dict(_found(await conn.fetchrow(_Q["device_facts"], device_id, default_warranty_years)))
    )


@dataclass(frozen=True, slots=True)
class Contact:
    contact_id: int
    name: str
    phone: str
    role: str
    """owner | family"""
    preferred_channel: str


async def first_contacts(conn: Connection, device_id: str) -> list[Contact]:
    """The contacts alerted at once: those of the lowest escalation rank the device has."""
    return [Contact(**dict(r)) for r in await conn.fetch(_Q["contacts"], device_id)]


async def hold_case(conn: Connection, case_id: int) -> None:
    """An area incident holds the case (diagnostics/cold_wave): no deadline, no alert, no ticket of its own."""
    await conn.execute(_Q["hold_case"], case_id)


async def close_held_case(conn: Connection, case_id: int) -> None:
    """The incident holding the case ended with the case's fault cleared."""
    await conn.execute(_Q["close_held_case"], case_id)


async def customer_said_fixed(conn: Connection, case_id: int, at: datetime) -> None:
    """Record that the customer said the boiler works again (the engine still judges by telemetry)."""
    await conn.execute(_Q["customer_said_fixed"], case_id, at)


async def first_contacts_of(conn: Connection, device_ids: list[str]) -> dict[str, list[Contact]]:
    """The first contacts of each of several devices (a broadcast about many households)."""
    found: dict[str, list[Contact]] = {}
    for row in await conn.fetch(_Q["first_contacts_of"], device_ids):
        fields = dict(row)
        found.setdefault(fields.pop("device_id"), []).append(Contact(**fields))
    return found


async def every_contact(conn: Connection, device_id: str) -> list[Contact]:
    """Every contact of the device, of any escalation rank."""
    return [Contact(**dict(r)) for r in await conn.fetch(_Q["every_contact"], device_id)]


async def service_point_names(conn: Connection, ticket_id: int) -> PointName | None:
    """The ticket's service point as each language's message names it; None without one."""
    row = await conn.fetchrow(_Q["ticket_service_point"], ticket_id)
    return PointName(row["name"], row["name_en"]) if row is not None else None


@dataclass(frozen=True, slots=True)
class NewTicket:
    """A ticket to open, on a new case (`case_id` None) or on the device's open case."""

    case_id: int | None
    device_id: str
    family: str
    code: str
    kind: str
    priority: int
    raised_at: datetime
    contact_within: timedelta
    service_point_id: str | None
    service_point_distance_km: float | None
    region: str | None
    in_warranty: bool | None
    warranty_ends_on: date | None
    rule: str
    evidence: Mapping[str, JsonValue]
    why: str
    counts_raise: bool
    """Count a raise on the promoted case (not when guidance merely ran out)."""


@dataclass(frozen=True, slots=True)
class OpenedTicket:
    ticket_id: int
    case_id: int


async def open_ticket(conn: Connection, ticket: NewTicket) -> OpenedTicket:
    """The ticket, its case, its first audit entry and the ticket.opened event, in one statement."""
    sql, args = _Q.bind("open_ticket", {
        "case_id": ticket.case_id, "device_id": ticket.device_id, "family": ticket.family, "code": ticket.code,
        "kind": ticket.kind, "priority": ticket.priority, "raised_at": ticket.raised_at,
        "contact_within": ticket.contact_within, "service_point_id": ticket.service_point_id,
        "service_point_distance_km": ticket.service_point_distance_km, "region": ticket.region,
        "in_warranty": ticket.in_warranty, "warranty_ends_on": ticket.warranty_ends_on, "rule": ticket.rule,
        "evidence": json.dumps(ticket.evidence, ensure_ascii=False), "why": ticket.why,
        "counts_raise": 1 if ticket.counts_raise else 0,
    })  # fmt: skip
    return OpenedTicket(**dict(_found(await conn.fetchrow(sql, *args))))


@dataclass(frozen=True, slots=True)
class NewPrediction:
    device_id: str
    code: str
    family: str
    detector: str
    predicted_at: datetime
    eta: datetime | None
    evidence: Mapping[str, JsonValue]


async def insert_prediction(conn: Connection, prediction: NewPrediction) -> int:
    """Record the prediction, linked to the case (and ticket) it opened in this transaction."""
    sql, args = _Q.bind("insert_prediction", {
        "device_id": prediction.device_id, "code": prediction.code, "family": prediction.family,
        "detector": prediction.detector, "predicted_at": prediction.predicted_at, "eta": prediction.eta,
        "evidence": json.dumps(prediction.evidence, ensure_ascii=False),
    })  # fmt: skip
    return int(await conn.fetchval(sql, *args))


@dataclass(frozen=True, slots=True)
class ConfirmedPrediction:
    prediction_id: int
    code: str
    predicted_at: datetime


async def confirm_predictions(
    conn: Connection, *, device_id: str, family: str, code: str, at: datetime
) -> list[ConfirmedPrediction]:
    """The hard fault the family's open predictions foresaw arrived: they are confirmed."""
    sql, args = _Q.bind(
        "confirm_predictions", {"device_id": device_id, "family": family, "code": code, "at": at}
    )
    return [ConfirmedPrediction(**dict(r)) for r in await conn.fetch(sql, *args)]


async def confirm_ticket(
    conn: Connection, *, case_id: int, code: str, at: datetime, kind: str, priority: int,
    confirmation: Mapping[str, JsonValue], note: str,
) -> None:  # fmt: skip
    """The predicted case's ticket becomes the repair ticket of the hard fault `code`."""
    sql, args = _Q.bind("confirm_ticket", {
        "case_id": case_id, "code": code, "at": at, "kind": kind, "priority": priority,
        "confirmation": json.dumps(confirmation), "note": note,
    })  # fmt: skip
    await conn.execute(sql, *args)


async def record_failure(conn: Connection, event: InboxEvent, error: str) -> None:
    """Keep an event the engine could not handle, with the error, instead of blocking its lane."""
    await conn.execute(
        _Q["record_failure"], event.device_id, event.ts, event.seq, event.code, event.state, error[:2000]
    )


def _found(row: _Row | None) -> _Row:
    if row is None:
        raise MissingRowError("a row the engine relies on is missing (device deleted meanwhile?)")
    return row
