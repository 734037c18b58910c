"""Cold wave: the regions by what is coming and what is open (advisories, households at risk, open
tickets, boilers held by area incidents), and each area incident's page: its counts, its timeline,
taking it and resolving it (docs/cold-wave.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.access import Role
from api.console.rendering import render
from api.console.sign_in import ConsoleAllow, ConsoleSession
from api.dependencies import DbConnection
from api.problems import ProblemError
from diagnostics.catalog import load_catalog
from diagnostics.cold_wave import incidents
from diagnostics.cold_wave.call_volume import CallForecastConfig, forecast_calls
from diagnostics.cold_wave.forecasts import region_overview
from diagnostics.cold_wave.incidents import IncidentNotFoundError
from diagnostics.faults.engine import EngineConfig, FaultEngine
from diagnostics.service_points import ServicePointDirectory
from telemetry.korean_time import kst_day

__all__ = ["router"]

router = APIRouter(prefix="/console", include_in_schema=False)
Supervisor = Annotated[ConsoleSession, Depends(ConsoleAllow(Role.ADMIN, Role.AGENT))]
IncidentId = Annotated[int, Path(ge=1, le=2**62)]


def _missing(incident_id: int) -> ProblemError:
    return ProblemError(404, "incident-not-found", f"No incident {incident_id}.", title="Unknown incident")


@router.get("/cold-wave", response_class=HTMLResponse)
async def cold_wave_page(request: Request, conn: DbConnection, session: Supervisor) -> HTMLResponse:
    today = kst_day(datetime.now(UTC))
    regions = await region_overview(conn, today)
    open_incidents = await incidents.list_incidents(conn, status="open", limit=50)
    calls = {r.region: await forecast_calls(conn, r.region, today=today, days=1, config=CallForecastConfig())
             for r in regions}  # fmt: skip
    return render(
        request, "cold_wave.html", {"regions": regions, "incidents": open_incidents, "calls": calls}
    )


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
async def incident_page(
    request: Request, conn: DbConnection, session: Supervisor, incident_id: IncidentId
) -> HTMLResponse:
    try:
        incident = await incidents.get_incident(conn, incident_id)
    except IncidentNotFoundError as exc:
        raise _missing(incident_id) from exc
    timeline = await incidents.timeline(conn, incident_id)
    return render(request, "incident.html", {"i": incident, "timeline": timeline})


@router.post("/incidents/{incident_id}/take")
async def take_incident(conn: DbConnection, session: Supervisor, incident_id: IncidentId) -> Response:
    """The signed-in person owns the incident now."""
    try:
        await incidents.set_owner(conn, incident_id, session.principal.name, session.principal.label)
    except IncidentNotFoundError as exc:
        raise _missing(incident_id) from exc
    return RedirectResponse(f"/console/incidents/{incident_id}", status_code=303)


@router.post("/incidents/{incident_id}/resolve")
async def resolve_incident(
    conn: DbConnection, session: Supervisor, incident_id: IncidentId,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:  # fmt: skip
    """End the incident: boilers still failing get their own tickets (docs/cold-wave.md)."""
    async with conn.transaction():
        engine = FaultEngine(load_catalog(), await ServicePointDirectory.load(conn), EngineConfig())
        try:
            await incidents.resolve(conn, engine, incident_id, actor=session.principal.label, note=note.strip(),
                                    at=datetime.now(UTC))  # fmt: skip
        except IncidentNotFoundError as exc:
            raise _missing(incident_id) from exc
    return RedirectResponse(f"/console/incidents/{incident_id}", status_code=303)
