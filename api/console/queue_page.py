"""The queue and the ticket page: tickets in working order with the contact clock, and the ticket's
lifecycle moves and notes, made from the page.

Moves and notes go through the same lifecycle functions as the API (diagnostics.tickets.lifecycle),
so the call center's webhooks, the audit trail and the allowed moves are the same whichever way a
ticket is worked. A technician sees and works only their service point's tickets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import AfterValidator, BeforeValidator

from api.access import Role, ensure_ticket_visible
from api.console.i18n import Translator, language_of
from api.console.rendering import render
from api.console.sign_in import ConsoleAllow, ConsoleSession
from api.dependencies import DbConnection
from api.problems import ProblemError
from api.record_audit import record
from api.schemas.devices import region_or_error
from api.user_text import bidi_controls_in
from diagnostics.service_points import ServicePointDirectory
from diagnostics.tickets import store as ticket_store
from diagnostics.tickets.lifecycle import (
    ALLOWED,
    InvalidTransitionError,
    SafetyCodeActiveError,
    Status,
    TicketNotFoundError,
    add_note,
    transition,
)
from telemetry.database import Connection
from telemetry.regions import REGION_CODES

__all__ = ["QUEUE_LIMIT", "router"]

router = APIRouter(prefix="/console", include_in_schema=False)

Worker = Annotated[ConsoleSession, Depends(ConsoleAllow(Role.ADMIN, Role.AGENT, Role.TECHNICIAN))]
TicketId = Annotated[int, Path(ge=1, le=2**62)]
QUEUE_LIMIT: Final = 200
"""Rows shown; the counts above the table cover the whole filtered queue."""
QUEUE_STATUSES: Final = ("open", "contacted", "scheduled", "dispatched")


def _checkbox(value: object) -> object:
    """What a checkbox sends: nothing or an empty value when unchecked, and when checked its value
    ("true" here, "on" by browsers' default, or yes/1 typed into an address); the rest is bool's."""
    return False if value in (None, "") else value


Checkbox = Annotated[bool, BeforeValidator(_checkbox)]


@dataclass(frozen=True, slots=True)
class WorkError:
    """Why a move or a note was not done: 422 for what was typed, 409 for a move the ticket's status
    no longer allows; the message in the page's language."""

    status: int
    message: str


def _region_or_all(text: str) -> str:
    """The form's region: "" for all, else a code or a name of the list (422 with the list otherwise)."""
    return region_or_error(text) if text else ""


RegionFilter = Annotated[str, Query(max_length=100), AfterValidator(_region_or_all)]


def _not_found(ticket_id: int) -> ProblemError:
    return ProblemError(404, "ticket-not-found", f"No ticket {ticket_id}.", title="Unknown ticket",
                        subject=str(ticket_id))  # fmt: skip


@router.get("/queue", response_class=HTMLResponse)
async def queue_page(
    request: Request,
    conn: DbConnection,
    session: Worker,
    service_point: Annotated[str | None, Query(max_length=40)] = None,
    region: RegionFilter = "",
    status: Literal["", "open", "contacted", "scheduled", "dispatched"] = "",
    breached: Annotated[Checkbox, Query()] = False,
    fragment: bool = False,
) -> HTMLResponse:
    """The queue; `fragment` answers only the table (the page refreshes it while open)."""
    principal = session.principal
    if principal.role is Role.TECHNICIAN:  # their own point's queue, whatever the filter says
        service_point = principal.service_point_id
    where = ticket_store.QueueFilter(
        service_point_id=service_point or None, region=region or None, status=status or None,
        sla_breached=True if breached else None,
    )  # fmt: skip
    queue = await ticket_store.ticket_queue(conn, where, limit=QUEUE_LIMIT)
    points = (await ServicePointDirectory.load(conn)).points
    context = {
        "queue": queue, "allowed": _allowed_moves, "points": points,
        "regions": REGION_CODES, "statuses": QUEUE_STATUSES,
        "filters": {"service_point": service_point or "", "region": region or "", "status": status,
                    "breached": breached},
        "limit": QUEUE_LIMIT,
    }  # fmt: skip
    return render(request, "queue_table.html" if fragment else "queue.html", context)


def _allowed_moves(status: str) -> list[str]:
    """The statuses a ticket may move to from `status`, in lifecycle order."""
    order = list(Status)
    return [s.value for s in sorted(ALLOWED[Status(status)], key=order.index)]


async def _ticket(conn: Connection, session: ConsoleSession, ticket_id: int) -> ticket_store.TicketDetail:
    detail = await ticket_store.get_ticket(conn, ticket_id=ticket_id)
    if detail is None:
        raise _not_found(ticket_id)
    await ensure_ticket_visible(
        conn, session.principal, device_id=detail.ticket.device_id,
        service_point_id=detail.ticket.service_point_id, not_found=_not_found(ticket_id),
    )  # fmt: skip
    return detail


async def _ticket_view(
    request: Request, conn: Connection, session: ConsoleSession, ticket_id: int, *,
    template: str, error: str | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    detail = await _ticket(conn, session, ticket_id)
    return render(request, template, {"d": detail, "allowed": _allowed_moves, "error": error}, status=status)


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket_page(
    request: Request, conn: DbConnection, session: Worker, ticket_id: TicketId
) -> HTMLResponse:
    detail = await _ticket(conn, session, ticket_id)
    await record(conn, session.principal, "view", "ticket", [detail.ticket.device_id])
    return render(request, "ticket.html", {"d": detail, "allowed": _allowed_moves, "error": None})


@router.post("/tickets/{ticket_id}/transition", response_class=HTMLResponse)
async def move_ticket(
    request: Request,
    conn: DbConnection,
    session: Worker,
    ticket_id: TicketId,
    to: Annotated[str, Form(max_length=40)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Move the ticket; a move its status does not allow (someone else moved it first) answers 409
    with the reason and the ticket as it now is."""
    await _ticket(conn, session, ticket_id)
    say = Translator(language_of(request))
    error = _bidi_error(say, note)
    if error is None:
        try:
            async with conn.transaction():
                await transition(conn, ticket_id=ticket_id, to=Status(to), actor=session.principal.label,
                                 note=note.strip() or None)  # fmt: skip
        except SafetyCodeActiveError as exc:
            error = WorkError(409, say("ticket.safety_code_active", codes=", ".join(exc.codes),
                                       wanted=say(f"tstatus.{exc.wanted.value}")))  # fmt: skip
        except InvalidTransitionError as exc:
            error = WorkError(409, say("ticket.move_refused", current=say(f"tstatus.{exc.current.value}"),
                                       wanted=say(f"tstatus.{exc.wanted.value}")))  # fmt: skip
        except ValueError:  # a status that does not exist
            error = WorkError(409, say("ticket.unknown_move", to=to))
        except TicketNotFoundError as exc:
            raise _not_found(ticket_id) from exc
    return await _after_change(request, conn, session, ticket_id, error)


@router.post("/tickets/{ticket_id}/notes", response_class=HTMLResponse)
async def write_note(
    request: Request,
    conn: DbConnection,
    session: Worker,
    ticket_id: TicketId,
    body: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    await _ticket(conn, session, ticket_id)
    say = Translator(language_of(request))
    error = WorkError(422, say("ticket.empty_note")) if not body.strip() else _bidi_error(say, body)
    if error is None:
        try:
            async with conn.transaction():
                await add_note(conn, ticket_id=ticket_id, author=session.principal.label, body=body.strip())
        except TicketNotFoundError as exc:
            raise _not_found(ticket_id) from exc
    return await _after_change(request, conn, session, ticket_id, error)


def _bidi_error(say: Translator, text: str) -> WorkError | None:
    """The API's check on typed text (api.user_text), answered in the page's words."""
    found = bidi_controls_in(text)
    return WorkError(422, say("invalid.bidi_control", chars=", ".join(found))) if found else None


async def _after_change(
    request: Request, conn: Connection, session: ConsoleSession, ticket_id: int, error: WorkError | None
) -> Response:
    """htmx swaps in the ticket's work panel (and the contact clock, which a move may stop); a plain
    form post goes back to the ticket page."""
    status = 200 if error is None else error.status
    message = None if error is None else error.message
    if request.headers.get("hx-request") == "true":
        return await _ticket_view(request, conn, session, ticket_id, template="ticket_work.html", error=message,
                                  status=status)  # fmt: skip
    if error is not None:
        return await _ticket_view(request, conn, session, ticket_id, template="ticket.html", error=message,
                                  status=status)  # fmt: skip
    return RedirectResponse(f"/console/tickets/{ticket_id}", status_code=303)
