"""Ticket endpoints: the queue with filters, one ticket with its evidence, lifecycle transitions,
notes and assignment.

Agents and admins work every ticket. A technician reads and works the tickets of their service point
and may name the technician but not move the ticket to another service point. A customer reads the
tickets of their own devices, without the internal notes and engine evidence.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Path, Query

from api.access import Principal, Role, allow, ensure_ticket_visible
from api.dependencies import DbConnection
from api.pagination import decode_id_cursor, encode_id_cursor, split_page
from api.problems import ProblemError, invalid_parameter, problem_responses
from api.record_audit import record
from api.schemas.devices import RegionQuery
from api.schemas.tickets import (
    AssignmentIn,
    NoteIn,
    NoteOut,
    RepairReportIn,
    RepairReportOut,
    TicketDetailOut,
    TicketOut,
    TicketPage,
    TransitionIn,
)
from diagnostics.customer_link import store as link_store
from diagnostics.customer_link.store import RepairItem
from diagnostics.tickets import store as ticket_store
from diagnostics.tickets.lifecycle import (
    InvalidTransitionError,
    SafetyCodeActiveError,
    SafetyOverride,
    Status,
    TicketClosedError,
    TicketNotFoundError,
    UnknownServicePointError,
    add_note,
    assign,
    transition,
)
from protocol.contract import DEVICE_ID_PATTERN
from telemetry.database import Connection
from telemetry.phone_numbers import national_phone

__all__ = ["router"]

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])

TicketId = Annotated[int, Path(ge=1, le=2**62)]
Reader = Annotated[Principal, allow(Role.ADMIN, Role.AGENT, Role.TECHNICIAN, Role.CUSTOMER)]
Worker = Annotated[Principal, allow(Role.ADMIN, Role.AGENT, Role.TECHNICIAN)]


def _not_found(ticket_id: int) -> ProblemError:
    return ProblemError(404, "ticket-not-found", f"No ticket {ticket_id}.", title="Unknown ticket")


async def _detail(conn: Connection, caller: Principal, ticket_id: int) -> TicketDetailOut:
    """The ticket as `caller` may see it; 404 when it does not exist or lies outside their scope."""
    detail = await ticket_store.get_ticket(conn, ticket_id=ticket_id)
    if detail is None:
        raise _not_found(ticket_id)
    await ensure_ticket_visible(conn, caller, device_id=detail.ticket.device_id,
                                service_point_id=detail.ticket.service_point_id, not_found=_not_found(ticket_id))  # fmt: skip
    await record(conn, caller, "view", "ticket", [detail.ticket.device_id])
    out = TicketDetailOut.model_validate(detail, from_attributes=True)
    if caller.role is Role.CUSTOMER:
        # Staff notes, the engine's evidence and who moved the ticket are internal; of the alerts,
        # a customer sees those sent to their own number.
        out.notes, out.evidence = [], {}
        out.transitions = [t.model_copy(update={"actor": "ondol", "note": None}) for t in out.transitions]
        out.alerts = [a for a in out.alerts if national_phone(a.phone) == caller.customer_phone]
    return out


_ACTOR_MAX: Final = 100


def _actor(caller: Principal, named: str | None) -> str:
    """Who the audit trail records. A staff integration (one key for many agents) may name the
    person, recorded with the key that said so; technician and customer keys are personal."""
    if caller.role in (Role.ADMIN, Role.AGENT) and named and named != caller.label:
        suffix = f" (via {caller.key_id})"
        return named[: _ACTOR_MAX - len(suffix)] + suffix
    return caller.label


@router.get("", response_model=TicketPage, responses=problem_responses(400, 422, 503))
async def list_tickets(
    conn: DbConnection,
    caller: Reader,
    status: Status | None = None,
    priority: Annotated[int | None, Query(ge=1, le=4)] = None,
    service_point: Annotated[str | None, Query(max_length=40)] = None,
    region: RegionQuery = None,
    code: Annotated[str | None, Query(pattern=r"^(E[0-9]{3}|A[0-9]{2})$")] = None,
    sla_breached: bool | None = None,
    device_id: Annotated[str | None, Query(pattern=DEVICE_ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> TicketPage:
    """Tickets, newest first, filtered."""
    before = decode_id_cursor(cursor) if cursor is not None else None
    if caller.role is Role.TECHNICIAN:
        if service_point not in (None, caller.service_point_id):
            raise ProblemError(403, "forbidden", "Technicians see only their own service point's tickets.",
                               title="Not allowed for this role")  # fmt: skip
        service_point = caller.service_point_id
    where = ticket_store.TicketFilter(
        status=status.value if status else None, priority=priority, service_point_id=service_point,
        region=region, code=code, sla_breached=sla_breached, device_id=device_id,
        contact_phone=caller.customer_phone if caller.role is Role.CUSTOMER else None,
    )  # fmt: skip
    views = await ticket_store.list_tickets(conn, where=where, before_id=before, limit=limit + 1)
    page, last = split_page(views, limit)
    return TicketPage(
        items=[TicketOut.model_validate(v) for v in page],
        next_cursor=encode_id_cursor(last.ticket_id) if last else None,
    )


@router.get("/{ticket_id}", response_model=TicketDetailOut, responses=problem_responses(404, 422, 503))
async def get_ticket(conn: DbConnection, caller: Reader, ticket_id: TicketId) -> TicketDetailOut:
    """One ticket with the evidence the engine recorded, its audit trail, its events and alerts."""
    return await _detail(conn, caller, ticket_id)


@router.post(
    "/{ticket_id}/transitions",
    response_model=TicketDetailOut,
    responses=problem_responses(404, 409, 422, 503),
)
async def post_transition(
    conn: DbConnection, caller: Worker, ticket_id: TicketId, body: TransitionIn
) -> TicketDetailOut:
    """Move the ticket along its lifecycle; 409 when the move is not allowed from its current status."""
    await _detail(conn, caller, ticket_id)
    override = _safety_override(caller, body)
    try:
        async with conn.transaction():
            await transition(conn, ticket_id=ticket_id, to=body.to, actor=_actor(caller, body.actor), note=body.note,
                             override=override)  # fmt: skip
    except TicketNotFoundError as exc:
        raise _not_found(ticket_id) from exc
    except SafetyCodeActiveError as exc:
        raise ProblemError(
            409, "safety-code-active", str(exc), title="Safety-critical code still active"
        ) from exc
    except InvalidTransitionError as exc:
        raise ProblemError(409, "invalid-transition", str(exc), title="Transition not allowed") from exc
    return await _detail(conn, caller, ticket_id)


OVERRIDERS: Final = frozenset({Role.ADMIN, Role.TECHNICIAN})
"""Who may end a ticket whose safety-critical code is still active: the administrator, or the
technician who saw the boiler; not an agent on the phone."""


def _safety_override(caller: Principal, body: TransitionIn) -> SafetyOverride | None:
    if not body.override_active_safety_code:
        return None
    if caller.role not in OVERRIDERS:
        raise ProblemError(403, "forbidden", "Only an admin or a technician may end a ticket whose safety-critical "
                           "code is still active.", title="Not allowed for this role")  # fmt: skip
    return SafetyOverride(reason=(body.note or "").strip())


@router.post(
    "/{ticket_id}/notes", status_code=201, response_model=NoteOut, responses=problem_responses(404, 422, 503)
)
async def post_note(conn: DbConnection, caller: Worker, ticket_id: TicketId, body: NoteIn) -> NoteOut:
    """Write a note on the ticket (what the customer said, what the technician found)."""
    await _detail(conn, caller, ticket_id)
    try:
        async with conn.transaction():
            note = await add_note(
                conn, ticket_id=ticket_id, author=_actor(caller, body.author), body=body.body
            )
    except TicketNotFoundError as exc:
        raise _not_found(ticket_id) from exc
    return NoteOut.model_validate(note)


@router.post(
    "/{ticket_id}/assignment", response_model=TicketDetailOut, responses=problem_responses(404, 409, 422, 503)
)
async def post_assignment(
    conn: DbConnection, caller: Worker, ticket_id: TicketId, body: AssignmentIn
) -> TicketDetailOut:
    """Assign the visit to a service point and/or a technician; 409 once the ticket is final."""
    await _detail(conn, caller, ticket_id)
    if caller.role is Role.TECHNICIAN and body.service_point_id not in (None, caller.service_point_id):
        raise ProblemError(403, "forbidden", "A technician cannot move a ticket to another service point.",
                           title="Not allowed for this role")  # fmt: skip
    try:
        async with conn.transaction():
            await assign(conn, ticket_id=ticket_id, service_point_id=body.service_point_id,
                         technician=body.technician, actor=_actor(caller, body.actor))  # fmt: skip
    except TicketNotFoundError as exc:
        raise _not_found(ticket_id) from exc
    except TicketClosedError as exc:
        raise ProblemError(409, "ticket-closed", str(exc), title="Ticket is final") from exc
    except UnknownServicePointError as exc:
        raise invalid_parameter("body", "service_point_id", str(exc)) from exc
    return await _detail(conn, caller, ticket_id)


Reporter = Annotated[Principal, allow(Role.ADMIN, Role.TECHNICIAN)]


@router.put(
    "/{ticket_id}/repair-report",
    response_model=RepairReportOut,
    responses=problem_responses(404, 409, 422, 503),
)
async def put_repair_report(
    conn: DbConnection, caller: Reporter, ticket_id: TicketId, body: RepairReportIn
) -> RepairReportOut:
    """The technician's account of the visit: what was done, the parts and labour with their amounts,
    and whether the warranty pays. The customer's page shows it (docs/customer-link.md); entering it
    again replaces it. 409 for a ticket with no visit (open, contacted or cancelled)."""
    detail = await _detail(conn, caller, ticket_id)
    if detail.ticket.status in (Status.OPEN, Status.CONTACTED, Status.CANCELLED):
        raise ProblemError(409, "no-visit-to-report", f"Ticket {ticket_id} is {detail.ticket.status}: no visit "
                           "to report yet.", title="No visit to report")  # fmt: skip
    items = [RepairItem(i.name, i.amount_won) for i in body.items]
    total = 0 if body.warranty_covered else sum(i.amount_won for i in items) + body.labour_won
    async with conn.transaction():
        await link_store.upsert_repair_report(
            conn, ticket_id=ticket_id, summary=body.summary, items=items, labour_won=body.labour_won,
            warranty_covered=body.warranty_covered, total_won=total, entered_by=caller.label,
        )  # fmt: skip
        await add_note(conn, ticket_id=ticket_id, author=caller.label, body=f"Repair report: {body.summary}")
        await record(conn, caller, "change", "repair-report", [detail.ticket.device_id])
    report = await link_store.repair_report(conn, ticket_id)
    assert report is not None
    return RepairReportOut.model_validate(_report_dict(report))


def _report_dict(report: link_store.RepairReport) -> dict[str, object]:
    return {"ticket_id": report.ticket_id, "summary": report.summary,
            "items": [{"name": i.name, "amount_won": i.amount_won} for i in report.items],
            "labour_won": report.labour_won, "warranty_covered": report.warranty_covered,
            "total_won": report.total_won, "entered_by": report.entered_by, "entered_at": report.entered_at}  # fmt: skip
