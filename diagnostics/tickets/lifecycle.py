"""The A/S ticket lifecycle: which status may follow which, and applying a transition with its audit
entry, timestamps and call-center event in one transaction.

    open → contacted → scheduled → dispatched → resolved → closed
    open | contacted | scheduled → resolved_remotely → closed
    open | contacted | scheduled → cancelled
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from diagnostics.catalog import load_catalog
from diagnostics.faults import store as fault_store
from diagnostics.messages import store as alert_store
from diagnostics.messages.store import NewAlert
from diagnostics.messages.texts import compose_visit
from diagnostics.tickets.store import Note
from telemetry import named_queries
from telemetry.database import Connection

__all__ = [
    "ALLOWED",
    "TERMINAL",
    "InvalidTransitionError",
    "SafetyCodeActiveError",
    "SafetyOverride",
    "Status",
    "TicketClosedError",
    "TicketNotFoundError",
    "TransitionResult",
    "UnknownServicePointError",
    "active_safety_codes",
    "add_note",
    "assign",
    "transition",
]

_Q: Final = named_queries.load("tickets", package="diagnostics.tickets").require(
    "assign", "insert_note", "insert_transition", "lock_ticket", "service_point_exists", "set_status", "ticket_fault_codes",
    "ticket_subject",
)  # fmt: skip


class Status(StrEnum):
    OPEN = "open"
    CONTACTED = "contacted"
    SCHEDULED = "scheduled"
    DISPATCHED = "dispatched"
    RESOLVED = "resolved"
    CLOSED = "closed"
    RESOLVED_REMOTELY = "resolved_remotely"
    CANCELLED = "cancelled"


ALLOWED: Final[dict[Status, frozenset[Status]]] = {
    Status.OPEN: frozenset({Status.CONTACTED, Status.RESOLVED_REMOTELY, Status.CANCELLED}),
    Status.CONTACTED: frozenset({Status.SCHEDULED, Status.RESOLVED_REMOTELY, Status.CANCELLED}),
    Status.SCHEDULED: frozenset(
        {Status.DISPATCHED, Status.CONTACTED, Status.RESOLVED_REMOTELY, Status.CANCELLED}
    ),
    Status.DISPATCHED: frozenset({Status.RESOLVED, Status.SCHEDULED}),
    Status.RESOLVED: frozenset({Status.CLOSED}),
    Status.RESOLVED_REMOTELY: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset(),
    Status.CANCELLED: frozenset(),
}
TERMINAL: Final = frozenset({Status.RESOLVED, Status.CLOSED, Status.RESOLVED_REMOTELY, Status.CANCELLED})
"""A ticket in one of these no longer blocks a new ticket for the same device and fault family."""


class TicketNotFoundError(LookupError):
    pass


class InvalidTransitionError(ValueError):
    def __init__(self, current: Status, wanted: Status) -> None:
        allowed = ", ".join(sorted(ALLOWED[current])) or "nothing (final)"
        super().__init__(f"a ticket in '{current}' cannot go to '{wanted}'; allowed: {allowed}")
        self.current = current
        self.wanted = wanted


class SafetyCodeActiveError(InvalidTransitionError):
    """A ticket cannot end while a safety-critical code of its fault is still active on the device:
    the boiler would stay faulted with nobody working on it. An explicit override may end it."""

    def __init__(self, current: Status, wanted: Status, codes: list[str]) -> None:
        super().__init__(current, wanted)
        self.codes = codes
        self.args = (
            f"the ticket cannot go to '{wanted}' while safety-critical code(s) {', '.join(codes)} are still "
            "active on the device: clear the fault first, or (admin or technician) override with a reason",
        )


@dataclass(frozen=True, slots=True)
class SafetyOverride:
    """Ending a ticket although its safety-critical code is still active (the technician found the
    boiler safe and the code is stale, say): who decided and why, for the audit trail."""

    reason: str


@dataclass(frozen=True, slots=True)
class TransitionResult:
    ticket_id: int
    from_status: Status
    to_status: Status


async def transition(
    conn: Connection, *, ticket_id: int, to: Status, actor: str, note: str | None,
    override: SafetyOverride | None = None,
) -> TransitionResult:  # fmt: skip
    """Move a ticket to `to`; call inside a transaction. Ending a ticket whose safety-critical code is
    still active is refused (SafetyCodeActiveError) unless `override` says why; the caller decides who
    may override."""
    current = await _lock(conn, ticket_id)
    if to not in ALLOWED[current]:
        raise InvalidTransitionError(current, to)
    reason, details = None, None
    if to in TERMINAL and (active := await active_safety_codes(conn, ticket_id)):
        if override is None:
            raise SafetyCodeActiveError(current, to, active)
        reason, details = "safety_override", json.dumps({"active_codes": active, "why": override.reason})
    event = "ticket.resolved" if to in (Status.RESOLVED, Status.RESOLVED_REMOTELY) else "ticket.updated"
    await conn.execute(_Q["set_status"], ticket_id, to.value, to in TERMINAL, event)
    await conn.execute(
        _Q["insert_transition"], ticket_id, current.value, to.value, actor, note, reason, details
    )
    if to in TERMINAL:
        await fault_store.close_ticketed_case(conn, ticket_id)
        await alert_store.withdraw_pending(
            conn, case_id=None, ticket_id=ticket_id, reason=f"the ticket is {to}"
        )
    if to in (Status.RESOLVED, Status.RESOLVED_REMOTELY):
        await _tell_the_result(conn, ticket_id)
    return TransitionResult(ticket_id, current, to)


async def _tell_the_result(conn: Connection, ticket_id: int) -> None:
    """The repair is done: every contact of the device hears it (the child who registered a parent's
    boiler too), with the case's link to the result, the cost and the happy call."""
    row = await conn.fetchrow(_Q["ticket_subject"], ticket_id)
    assert row is not None  # the ticket was locked above
    code = row["code"]
    message = compose_visit("result", load_catalog().get(code), code)
    contacts = await fault_store.every_contact(conn, row["device_id"])
    await alert_store.queue_alerts(conn, [
        NewAlert(row["device_id"], c.contact_id, c.phone, c.preferred_channel, "result", code, row["case_id"],
                 ticket_id, message.ko, message.en)
        for c in contacts
    ])  # fmt: skip


async def active_safety_codes(conn: Connection, ticket_id: int) -> list[str]:
    """The safety-critical codes still active on the ticket's device that belong to its fault (its
    family or its codes), in code order."""
    row = await conn.fetchrow(_Q["ticket_fault_codes"], ticket_id)
    if row is None:
        return []
    fault = _TicketFault(**dict(row))
    catalog = load_catalog()
    active = []
    for code in fault.active_codes:
        entry = catalog.get(code)
        if (
            entry is not None
            and entry.safety_critical
            and (entry.family == fault.family or code in fault.codes)
        ):
            active.append(code)
    return sorted(active)


@dataclass(frozen=True, slots=True)
class _TicketFault:
    """A ticket's fault beside the codes still active on its device."""

    family: str
    codes: list[str]
    active_codes: list[str]


class UnknownServicePointError(ValueError):
    pass


class TicketClosedError(ValueError):
    def __init__(self, status: Status) -> None:
        super().__init__(f"the ticket is '{status}': a final status, nothing left to assign")


async def _lock(conn: Connection, ticket_id: int) -> Status:
    current = await conn.fetchval(_Q["lock_ticket"], ticket_id)
    if current is None:
        raise TicketNotFoundError(f"no ticket {ticket_id}")
    return Status(current)


async def add_note(conn: Connection, *, ticket_id: int, author: str, body: str) -> Note:
    """Write a note on a ticket (any status: a closed ticket may still need a word); the note."""
    await _lock(conn, ticket_id)
    row = await conn.fetchrow(_Q["insert_note"], ticket_id, author, "note", body)
    assert row is not None  # an INSERT … RETURNING answers its row
    return Note(**dict(row))


async def assign(
    conn: Connection, *, ticket_id: int, service_point_id: str | None, technician: str | None, actor: str
) -> None:
    """Assign an open ticket's visit to a service point and/or technician; call inside a transaction.

    Recorded as an 'assignment' note and told to the call center as ticket.updated. A ticket in a
    final status cannot be assigned (TicketClosedError)."""
    current = await _lock(conn, ticket_id)
    if current in TERMINAL:
        raise TicketClosedError(current)
    if service_point_id is not None and not await conn.fetchval(_Q["service_point_exists"], service_point_id):
        raise UnknownServicePointError(f"no service point {service_point_id!r}")
    await conn.execute(_Q["assign"], ticket_id, service_point_id, technician, actor)
    what = ", ".join(
        part for part in (
            f"service point {service_point_id}" if service_point_id else None,
            f"technician {technician}" if technician else "no technician",
        ) if part
    )  # fmt: skip
    await conn.execute(_Q["insert_note"], ticket_id, actor, "assignment", f"assigned to {what}")
