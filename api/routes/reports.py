"""Service-quality reports (docs/reports.md): the service and care figures of a period, a region and a
service point, each defined once in SQL (diagnostics/reports)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.access import Principal, Role, allow
from api.dependencies import DbConnection
from api.problems import invalid_parameter, problem_responses
from api.schemas.devices import RegionQuery
from diagnostics.reports.figures import ReportScope, care_figures, service_figures

__all__ = ["router"]

router = APIRouter(prefix="/v1/reports", tags=["reports"])
Manager = Annotated[Principal, allow(Role.ADMIN, Role.AGENT)]


@router.get("/service", response_model=dict[str, dict[str, Any]], responses=problem_responses(422, 503))
async def service_report(
    conn: DbConnection, caller: Manager, first: date, last: date, region: RegionQuery = None,
    point: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """The period's service figures (contact compliance, times to contact, visit and repair, first-visit
    fixes, repeats, SLA breaches) and care figures (self-fixed, fixed remotely, dispatched, proactive
    tickets, happy calls). `first` and `last` are Korean days, inclusive, at most a year apart."""
    if last < first or (last - first).days > 366:
        raise invalid_parameter("query", "last", "the period runs from first to last, at most a year")
    scope = ReportScope(first, last, region, point)
    return {
        "service": asdict(await service_figures(conn, scope)),
        "care": asdict(await care_figures(conn, scope)),
    }
