"""Area incidents (docs/cold-wave.md): the call center's one work item for many boilers of a region
failing alike at once. List and read them with their timeline, take one (owner), resolve it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.access import Principal, Role, allow
from api.dependencies import DbConnection
from api.problems import ProblemError, problem_responses
from api.record_audit import record
from api.user_text import UserText
from diagnostics.catalog import load_catalog
from diagnostics.cold_wave import incidents
from diagnostics.cold_wave.dispatch_plan import PlanConfig, dispatch_plan
from diagnostics.cold_wave.incidents import IncidentNotFoundError
from diagnostics.faults.engine import EngineConfig, FaultEngine
from diagnostics.service_points import ServicePointDirectory

__all__ = ["points", "router"]

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])
Staff = Annotated[Principal, allow(Role.ADMIN, Role.AGENT)]
IncidentId = Annotated[int, Path(ge=1, le=2**62)]


class IncidentOut(BaseModel):
    incident_id: int
    region: str
    family: str
    status: Literal["open", "resolved"]
    first_fault_at: datetime
    opened_at: datetime
    resolved_at: datetime | None
    owner: str | None
    devices: int = Field(description="Boilers the incident holds or held")
    cleared: int = Field(description="Of those, whose fault cleared")
    ticketed: int = Field(description="Boilers still failing when it ended: each got its own ticket")


class TimelineOut(BaseModel):
    at: datetime
    actor: str
    action: str
    note: str


class IncidentDetailOut(IncidentOut):
    timeline: list[TimelineOut]


class OwnerIn(BaseModel):
    owner: UserText = Field(min_length=1, max_length=100, description="Who handles it (an agent or a team)")


class ResolveIn(BaseModel):
    note: UserText = Field(
        "", max_length=1000, description="What fixed it (the gas company restored supply…)"
    )


def _missing(incident_id: int) -> ProblemError:
    return ProblemError(404, "incident-not-found", f"No incident {incident_id}.", title="Unknown incident")


async def _detail(conn: DbConnection, incident_id: int) -> IncidentDetailOut:
    try:
        incident = await incidents.get_incident(conn, incident_id)
    except IncidentNotFoundError as exc:
        raise _missing(incident_id) from exc
    entries = await incidents.timeline(conn, incident_id)
    return IncidentDetailOut(**_fields(incident), timeline=[TimelineOut(**_fields(e)) for e in entries])


def _fields(obj: incidents.Incident | incidents.TimelineEntry) -> dict[str, Any]:
    """A store dataclass's fields, for the response model."""
    return dataclasses.asdict(obj)


@router.get("", response_model=list[IncidentOut], responses=problem_responses(422, 503))
async def list_incidents(
    conn: DbConnection, caller: Staff, status: Literal["open", "resolved"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[IncidentOut]:  # fmt: skip
    """The newest incidents first, open or resolved."""
    return [
        IncidentOut(**_fields(i)) for i in await incidents.list_incidents(conn, status=status, limit=limit)
    ]


@router.get("/{incident_id}", response_model=IncidentDetailOut, responses=problem_responses(404, 503))
async def get_incident(conn: DbConnection, caller: Staff, incident_id: IncidentId) -> IncidentDetailOut:
    """One incident with its timeline."""
    return await _detail(conn, incident_id)


@router.put(
    "/{incident_id}/owner", response_model=IncidentDetailOut, responses=problem_responses(404, 422, 503)
)
async def set_owner(
    conn: DbConnection, caller: Staff, incident_id: IncidentId, body: OwnerIn
) -> IncidentDetailOut:
    """Take the incident (or hand it to someone); on the timeline."""
    try:
        await incidents.set_owner(conn, incident_id, body.owner, caller.label)
    except IncidentNotFoundError as exc:
        raise _missing(incident_id) from exc
    return await _detail(conn, incident_id)


@router.post(
    "/{incident_id}/resolve", response_model=IncidentDetailOut, responses=problem_responses(404, 422, 503)
)
async def resolve_incident(
    conn: DbConnection, caller: Staff, incident_id: IncidentId, body: ResolveIn
) -> IncidentDetailOut:
    """End it: boilers whose fault cleared are done; each one still failing gets its own repair ticket
    and its owner is asked to book; households are told; the call center gets incident.resolved."""
    async with conn.transaction():
        engine = FaultEngine(load_catalog(), await ServicePointDirectory.load(conn), EngineConfig())
        try:
            await incidents.resolve(conn, engine, incident_id, actor=caller.label, note=body.note,
                                    at=datetime.now(UTC))  # fmt: skip
        except IncidentNotFoundError as exc:
            raise _missing(incident_id) from exc
        await record(conn, caller, "change", "incident")
    return await _detail(conn, incident_id)


points = APIRouter(prefix="/v1/service-points", tags=["incidents"])
Planner = Annotated[Principal, allow(Role.ADMIN, Role.AGENT, Role.TECHNICIAN)]
PointId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class PlannedJobOut(BaseModel):
    ticket_id: int
    device_id: str
    need: Literal["safety", "no_heat_vulnerable", "no_heat", "degraded", "advisory"]
    point_id: str | None = Field(description="Where the visit would come from (null: no room in the horizon)")
    day: date | None
    slot: Literal["am", "pm"] | None
    overflow_km: float | None = Field(
        description="Set when another point within the travel bound comes sooner"
    )


@points.get(
    "/{point_id}/dispatch-plan",
    response_model=list[PlannedJobOut],
    responses=problem_responses(403, 404, 503),
)
async def get_dispatch_plan(conn: DbConnection, caller: Planner, point_id: PointId) -> list[PlannedJobOut]:
    """The point's open work without a booked visit, most needed first (safety, no heat in a vulnerable
    household, no heat, degraded, advisories), each with the earliest window a technician can come,
    here or at the nearest point with room within 40 km when this one is full for more than two days.
    A proposal: nothing is booked."""
    if caller.role is Role.TECHNICIAN and caller.service_point_id != point_id:
        raise ProblemError(404, "service-point-not-found", f"No service point {point_id!r}.")
    plan = await dispatch_plan(conn, point_id, PlanConfig(), datetime.now(UTC))
    return [PlannedJobOut(ticket_id=j.ticket_id, device_id=j.device_id, need=j.need.name.lower(), point_id=j.point_id,
                          day=j.day, slot=j.slot, overflow_km=j.overflow_km) for j in plan]  # fmt: skip
