"""Campaign: the pre-season inspection plan per service point and day, with how many customers
accepted, moved or declined their day, and how many were inspected."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from api.access import Role
from api.console.rendering import render
from api.console.sign_in import ConsoleAllow, ConsoleSession
from api.dependencies import DbConnection
from diagnostics.campaigns import store as campaign_store
from diagnostics.campaigns.store import GridCell

__all__ = ["STATUSES", "PointPlan", "router", "summarise"]

router = APIRouter(prefix="/console", include_in_schema=False)

Reader = Annotated[ConsoleSession, Depends(ConsoleAllow(Role.ADMIN, Role.AGENT, Role.TECHNICIAN))]
STATUSES: Final = ("proposed", "accepted", "rescheduled", "declined", "completed", "lapsed")
"""The columns, in the order a customer's answer moves an inspection along (withdrawn ones are not shown)."""


@dataclass
class PointPlan:
    """One service point's part of the plan: counts per day and status, and in total."""

    point_id: str
    name: str
    name_en: str | None
    slots: int
    days: dict[date, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))

    @property
    def planned(self) -> int:
        return sum(self.totals.values())

    @property
    def answered(self) -> int:
        """Customers who answered (accepted, moved or declined) or were already inspected."""
        return sum(self.totals[s] for s in ("accepted", "rescheduled", "declined", "completed"))


def summarise(cells: list[GridCell]) -> list[PointPlan]:
    plans: dict[str, PointPlan] = {}
    for cell in cells:
        plan = plans.setdefault(
            cell.service_point_id,
            PointPlan(cell.service_point_id, cell.service_point_name, cell.service_point_name_en, cell.slots),
        )
        day = plan.days.setdefault(cell.day, defaultdict(int))
        day[cell.status] += cell.count
        plan.totals[cell.status] = plan.totals.get(cell.status, 0) + cell.count
    return list(plans.values())


@router.get("/campaign", response_class=HTMLResponse)
async def campaign_page(
    request: Request,
    conn: DbConnection,
    session: Reader,
    season: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    service_point: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """A season's plan (the newest by default): every service point's totals, and the chosen point's
    days (a technician's own point only)."""
    campaigns = await campaign_store.list_campaigns(conn)
    chosen = next((c for c in campaigns if season is None or c.season == season), None)
    if session.principal.role is Role.TECHNICIAN:
        service_point = session.principal.service_point_id
    points: list[PointPlan] = []
    if chosen is not None:
        scope = session.principal.service_point_id if session.principal.role is Role.TECHNICIAN else None
        points = summarise(await campaign_store.plan_grid(conn, chosen.campaign_id, service_point_id=scope))
    selected = next((p for p in points if p.point_id == service_point), points[0] if points else None)
    return render(request, "campaign.html", {
        "campaigns": campaigns, "campaign": chosen, "points": points, "selected": selected,
        "statuses": STATUSES,
    })  # fmt: skip
