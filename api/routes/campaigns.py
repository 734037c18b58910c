"""Inspection-campaign endpoints: the campaigns, each one's inspections by service point, day and
status, one inspection with its history, the customer's answer and the technician's visit.

Agents and admins see and answer every inspection. A technician sees the inspections of their
service point and records the visits. A customer sees and answers the inspections of their own
boilers. Everything written is in the inspection's history and goes to the call center as
`inspection.updated`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.access import Principal, Role, allow, ensure_device_visible
from api.dependencies import DbConnection
from api.pagination import decode_text_cursor, encode_text_cursor, split_page
from api.problems import ProblemError, problem_responses
from api.record_audit import record
from api.schemas.campaigns import (
    CampaignOut,
    CampaignPage,
    CompletionIn,
    InspectionDetailOut,
    InspectionOut,
    InspectionPage,
    InspectionStatus,
    ResponseIn,
)
from diagnostics.campaigns import store as campaign_store
from diagnostics.campaigns.answers import (
    InspectionConflictError,
    InspectionNotFoundError,
    answer_inspection,
    complete_inspection,
)
from diagnostics.campaigns.store import Inspection, InspectionDetail
from protocol.contract import DEVICE_ID_PATTERN
from telemetry.database import Connection
from telemetry.korean_time import KST

__all__ = ["campaigns", "inspections"]

campaigns = APIRouter(prefix="/v1/campaigns", tags=["campaigns"])
inspections = APIRouter(prefix="/v1/inspections", tags=["campaigns"])

CampaignId = Annotated[int, Path(ge=1, le=2**62)]
InspectionId = Annotated[int, Path(ge=1, le=2**62)]
Staff = Annotated[Principal, allow(Role.ADMIN, Role.AGENT, Role.TECHNICIAN)]
Reader = Annotated[Principal, allow(Role.ADMIN, Role.AGENT, Role.TECHNICIAN, Role.CUSTOMER)]
Answerer = Annotated[Principal, allow(Role.ADMIN, Role.AGENT, Role.CUSTOMER)]
Visitor = Annotated[Principal, allow(Role.ADMIN, Role.TECHNICIAN)]


def _today() -> date:
    return datetime.now(UTC).astimezone(KST).date()


def _not_found(inspection_id: int) -> ProblemError:
    return ProblemError(
        404, "inspection-not-found", f"No inspection {inspection_id}.", title="Unknown inspection"
    )


@campaigns.get("", response_model=CampaignPage, responses=problem_responses(503))
async def list_campaigns(conn: DbConnection, caller: Staff) -> CampaignPage:
    """Every campaign, newest season first, with its inspections counted by status."""
    return CampaignPage(
        items=[CampaignOut.model_validate(c) for c in await campaign_store.list_campaigns(conn)]
    )


@campaigns.get(
    "/{campaign_id}/inspections",
    response_model=InspectionPage,
    responses=problem_responses(400, 403, 404, 422, 503),
)
async def list_inspections(
    conn: DbConnection,
    caller: Staff,
    campaign_id: CampaignId,
    service_point: Annotated[str | None, Query(max_length=40)] = None,
    status: InspectionStatus | None = None,
    day: Annotated[date | None, Query(description="Only this day")] = None,
    from_day: Annotated[date | None, Query(alias="from", description="From this day on")] = None,
    to_day: Annotated[date | None, Query(alias="to", description="Up to this day")] = None,
    device_id: Annotated[str | None, Query(pattern=DEVICE_ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: str | None = None,
) -> InspectionPage:
    """The campaign's inspections in day order, highest risk first within a day."""
    if await campaign_store.get_campaign(conn, campaign_id) is None:
        raise ProblemError(404, "campaign-not-found", f"No campaign {campaign_id}.", title="Unknown campaign")
    if caller.role is Role.TECHNICIAN:
        if service_point not in (None, caller.service_point_id):
            raise ProblemError(403, "forbidden", "Technicians see only their own service point's inspections.",
                               title="Not allowed for this role")  # fmt: skip
        service_point = caller.service_point_id
    if day is not None and (from_day is not None or to_day is not None):
        raise ProblemError(400, "bad-filter", "Give either `day` or `from`/`to`, not both.")
    where = campaign_store.InspectionFilter(
        service_point_id=service_point, status=status, first_day=day or from_day, last_day=day or to_day,
        device_id=device_id,
    )  # fmt: skip
    rows = await campaign_store.list_inspections(
        conn, campaign_id, where, after=_decode(cursor) if cursor else None, limit=limit + 1
    )
    page, last = split_page(rows, limit)
    return InspectionPage(
        items=[InspectionOut.model_validate(r) for r in page],
        next_cursor=_encode(last) if last else None,
    )


@inspections.get(
    "/{inspection_id}", response_model=InspectionDetailOut, responses=problem_responses(404, 422, 503)
)
async def get_inspection(
    conn: DbConnection, caller: Reader, inspection_id: InspectionId
) -> InspectionDetailOut:
    """One inspection with its history."""
    return InspectionDetailOut.model_validate(await _visible(conn, caller, inspection_id))


@inspections.post(
    "/{inspection_id}/response",
    response_model=InspectionDetailOut,
    responses=problem_responses(404, 409, 422, 503),
)
async def post_response(
    conn: DbConnection, caller: Answerer, inspection_id: InspectionId, body: ResponseIn
) -> InspectionDetailOut:
    """Accept the proposed day, move it to another (a working day of the window with a free slot at
    the service point; 409 names free days otherwise) or decline."""
    await _visible(conn, caller, inspection_id)
    actor = (
        caller.label
        if caller.role is Role.CUSTOMER or not body.actor
        else f"{body.actor} (via {caller.key_id})"
    )
    with _as_problems(inspection_id):
        await answer_inspection(conn, inspection_id, answer=body.answer, day=body.day, today=_today(),
                                actor=actor[:100], note=body.note)  # fmt: skip
    return InspectionDetailOut.model_validate(await _visible(conn, caller, inspection_id))


@inspections.post(
    "/{inspection_id}/complete",
    response_model=InspectionDetailOut,
    responses=problem_responses(404, 409, 422, 503),
)
async def post_complete(
    conn: DbConnection, caller: Visitor, inspection_id: InspectionId, body: CompletionIn
) -> InspectionDetailOut:
    """Record the visit; the boiler's inspection date and counters are reset for the next ranking."""
    await _visible(conn, caller, inspection_id)
    today = _today()
    with _as_problems(inspection_id):
        await complete_inspection(
            conn, inspection_id, on=body.completed_on or today, today=today, now=datetime.now(UTC),
            actor=caller.label, burner_hours=body.burner_hours, burner_starts=body.burner_starts, note=body.note,
        )  # fmt: skip
    return InspectionDetailOut.model_validate(await _visible(conn, caller, inspection_id))


async def _visible(conn: Connection, caller: Principal, inspection_id: int) -> InspectionDetail:
    """The inspection with its history; 404 when it does not exist or lies outside the caller's scope."""
    found = await campaign_store.get_inspection(conn, inspection_id)
    if found is None:
        raise _not_found(inspection_id)
    if caller.role is Role.TECHNICIAN and found.service_point_id != caller.service_point_id:
        raise _not_found(inspection_id)
    if caller.role is Role.CUSTOMER:
        await ensure_device_visible(conn, caller, found.device_id, _not_found(inspection_id))
    await record(conn, caller, "view", "inspection", [found.device_id])
    return found


@contextmanager
def _as_problems(inspection_id: int) -> Iterator[None]:
    """An unknown inspection answers 404; an answer that does not fit, 409 naming free days."""
    try:
        yield
    except InspectionNotFoundError as exc:
        raise _not_found(inspection_id) from exc
    except InspectionConflictError as exc:
        free = ", ".join(d.isoformat() for d in exc.free_days)
        detail = f"{exc.reason}; free days: {free}" if free else exc.reason
        raise ProblemError(409, "inspection-conflict", detail, title="Answer not possible") from exc


def _encode(row: Inspection) -> str:
    return encode_text_cursor(f"{row.day.isoformat()}|{row.risk_rank}|{row.inspection_id}")


def _decode(cursor: str) -> tuple[date, int, int]:
    raw = decode_text_cursor(cursor)
    try:
        day, rank, inspection_id = raw.split("|")
        return date.fromisoformat(day), int(rank), int(inspection_id)
    except ValueError:
        raise ProblemError(
            400, "bad-cursor", "The cursor is not one this API returned; start again without it."
        ) from None
