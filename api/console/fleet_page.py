"""Fleet: how many boilers are online, offline and faulted in each region and model, drawn as a grid
of Korea's regions, with the worst-hit regions first (in a cold wave, where help goes first)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from api.access import Role
from api.console.rendering import render
from api.console.sign_in import ConsoleAllow, ConsoleSession
from api.dependencies import DbConnection
from diagnostics.fleet_overview import fleet_overview

__all__ = ["REGION_GRID", "router"]

router = APIRouter(prefix="/console", include_in_schema=False)

Supervisor = Annotated[ConsoleSession, Depends(ConsoleAllow(Role.ADMIN, Role.AGENT))]

REGION_GRID: Final[dict[str, tuple[int, int]]] = {
    "seoul": (2, 2),
    "incheon": (2, 1),
    "gyeonggi": (3, 2),
    "gangwon": (2, 4),
    "chungnam": (4, 1),
    "sejong": (4, 2),
    "chungbuk": (3, 3),
    "daejeon": (5, 2),
    "gyeongbuk": (4, 4),
    "jeonbuk": (6, 2),
    "daegu": (5, 4),
    "ulsan": (6, 5),
    "gwangju": (7, 1),
    "jeonnam": (7, 2),
    "gyeongnam": (6, 4),
    "busan": (7, 4),
    "jeju": (9, 1),
}
"""(row, column) of each region on a tile map of South Korea, north at the top."""


@router.get("/fleet", response_class=HTMLResponse)
async def fleet_page(request: Request, conn: DbConnection, session: Supervisor) -> HTMLResponse:
    fleet = await fleet_overview(conn, now=datetime.now(UTC))
    by_region = {r.key: r for r in fleet.regions}
    return render(request, "fleet.html", {
        "fleet": fleet, "by_region": by_region, "grid": REGION_GRID, "worst": fleet.worst_regions(),
        "unmapped": [r for r in fleet.regions if r.key not in REGION_GRID],
    })  # fmt: skip
