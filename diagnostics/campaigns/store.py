"""Reading campaigns and inspections for the API and the console: filters, pages, one with its history."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from telemetry import named_queries
from telemetry.database import Connection

__all__ = [
    "GridCell",
    "InspectionFilter",
    "get_campaign",
    "get_inspection",
    "list_campaigns",
    "list_inspections",
    "next_inspection_of_device",
    "plan_grid",
]

_Q: Final = named_queries.load("campaigns", package="diagnostics.campaigns").require(
    "list_campaigns",
    "campaign_by_id",
    "list_inspections",
    "inspection_view",
    "inspection_history",
    "plan_grid",
    "next_inspection_of_device",
)


@dataclass(frozen=True, slots=True)
class InspectionFilter:
    service_point_id: str | None = None
    status: str | None = None
    first_day: date | None = None
    last_day: date | None = None
    device_id: str | None = None


async def list_campaigns(conn: Connection) -> list[dict[str, Any]]:
    """Every campaign, newest season first, with its inspections counted by status."""
    return [_campaign(r) for r in await conn.fetch(_Q["list_campaigns"])]


async def get_campaign(conn: Connection, campaign_id: int) -> dict[str, Any] | None:
    row = await conn.fetchrow(_Q["campaign_by_id"], campaign_id)
    return None if row is None else dict(row)


async def list_inspections(
    conn: Connection,
    campaign_id: int,
    where: InspectionFilter,
    *,
    after: tuple[date, int, int] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Inspections in day and risk order, after the key `after` (day, rank, id) of the previous page."""
    day, rank, inspection_id = after if after is not None else (None, None, None)
    rows = await conn.fetch(
        _Q["list_inspections"], campaign_id, where.service_point_id, where.status, where.first_day,
        where.last_day, where.device_id, day, rank, inspection_id, limit,
    )  # fmt: skip
    return [_inspection(r) for r in rows]


async def get_inspection(conn: Connection, inspection_id: int) -> dict[str, Any] | None:
    """One inspection with its history, oldest first."""
    row = await conn.fetchrow(_Q["inspection_view"], inspection_id)
    if row is None:
        return None
    history = [dict(h) for h in await conn.fetch(_Q["inspection_history"], inspection_id)]
    return _inspection(row) | {"history": history}


@dataclass(frozen=True, slots=True)
class GridCell:
    """How many of a service point's inspections on one day are in one status."""

    service_point_id: str
    service_point_name: str
    service_point_name_en: str | None
    slots: int
    """The point's inspection slots per day."""
    day: date
    status: str
    count: int


async def plan_grid(conn: Connection, campaign_id: int, *, service_point_id: str | None) -> list[GridCell]:
    """The campaign's plan counted per service point, day and status (withdrawn ones left out)."""
    rows = await conn.fetch(_Q["plan_grid"], campaign_id, service_point_id)
    return [
        GridCell(
            r["point_id"], r["point_name"], r["point_name_en"], r["slots"], r["day"], r["status"], r["n"]
        )
        for r in rows
    ]


async def next_inspection_of_device(conn: Connection, device_id: str, *, on: date) -> dict[str, Any] | None:
    """The device's next inspection from `on` that is still to happen (proposed, accepted, rescheduled)."""
    row = await conn.fetchrow(_Q["next_inspection_of_device"], device_id, on)
    return None if row is None else dict(row)


def _campaign(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["counts"] = json.loads(out["counts"]) if isinstance(out["counts"], str) else out["counts"]
    return out


def _inspection(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["reasons"] = json.loads(out["reasons"])
    out["service_point_id"] = out.pop("point_id")
    out["service_point_name"] = out.pop("point_name")
    return out
