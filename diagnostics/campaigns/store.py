"""Campaigns and inspections as stored, typed: what the planner, the answers, the API and the console
read. Filters, pages, one inspection with its history."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Final, TypeVar

from diagnostics.campaigns.planner import Window
from telemetry import named_queries
from telemetry.database import Connection

__all__ = [
    "Campaign",
    "CampaignCounts",
    "GridCell",
    "HistoryEntry",
    "Inspection",
    "InspectionDetail",
    "InspectionFilter",
    "InspectionRecord",
    "NextInspection",
    "campaign_of_inspection",
    "campaign_of_season",
    "fetch_inspections",
    "get_campaign",
    "get_inspection",
    "list_campaigns",
    "list_inspections",
    "next_inspection_of_device",
    "plan_grid",
]

_Q: Final = named_queries.load("campaigns", package="diagnostics.campaigns").require(
    "campaign_by_id", "campaign_by_season", "campaign_of_inspection", "inspection_history", "inspection_view",
    "list_campaigns", "list_inspections", "next_inspection_of_device", "plan_grid",
)  # fmt: skip
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Campaign:
    """One season's campaign: its window, and what its last plan run found."""

    campaign_id: int
    season: int
    first_day: date
    last_day: date
    weekdays: list[int]
    """Working days, Monday = 0."""
    created_at: datetime
    planned_at: datetime
    """The last plan run."""
    changed_at: datetime
    """The last plan run that changed an inspection."""
    plan_runs: int
    considered: int
    over_capacity: int
    without_point: int

    @property
    def window(self) -> Window:
        """The window the season was first planned with: it stays, whatever the configuration says now."""
        return Window(self.first_day, self.last_day, frozenset(self.weekdays))


@dataclass(frozen=True, slots=True)
class CampaignCounts(Campaign):
    counts: dict[str, int]
    """Inspections by status."""


@dataclass(frozen=True, slots=True)
class InspectionRecord:
    """One row of the inspections table."""

    inspection_id: int
    campaign_id: int
    device_id: str
    point_id: str
    day: date
    score: float
    risk_rank: int
    reasons: dict[str, float]
    """Points each risk part contributed when it was last planned."""
    status: str
    reminders: int
    reminded_at: datetime | None
    followed_up_at: datetime | None
    answered_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Inspection(InspectionRecord):
    """An inspection as agents see it: with its service point's name and the household's region."""

    point_name: str
    region: str | None
    vulnerable: bool

    @property
    def service_point_id(self) -> str:
        return self.point_id

    @property
    def service_point_name(self) -> str:
        return self.point_name


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    action: str
    day: date | None
    actor: str
    note: str
    at: datetime


@dataclass(frozen=True, slots=True)
class InspectionDetail(Inspection):
    history: list[HistoryEntry]
    """Oldest first."""


@dataclass(frozen=True, slots=True)
class NextInspection:
    inspection_id: int
    season: int
    day: date
    status: str
    service_point_id: str
    service_point_name: str
    service_point_name_en: str | None


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


@dataclass(frozen=True, slots=True)
class InspectionFilter:
    service_point_id: str | None = None
    status: str | None = None
    first_day: date | None = None
    last_day: date | None = None
    device_id: str | None = None


async def campaign_of_season(conn: Connection, season: int) -> Campaign | None:
    row = await conn.fetchrow(_Q["campaign_by_season"], season)
    return None if row is None else Campaign(**dict(row))


async def campaign_of_inspection(conn: Connection, inspection_id: int) -> Campaign | None:
    row = await conn.fetchrow(_Q["campaign_of_inspection"], inspection_id)
    return None if row is None else Campaign(**dict(row))


async def get_campaign(conn: Connection, campaign_id: int) -> Campaign | None:
    row = await conn.fetchrow(_Q["campaign_by_id"], campaign_id)
    return None if row is None else Campaign(**dict(row))


async def list_campaigns(conn: Connection) -> list[CampaignCounts]:
    """Every campaign, newest season first, with its inspections counted by status."""
    campaigns = []
    for r in await conn.fetch(_Q["list_campaigns"]):
        fields = dict(r)
        counts = fields.pop("counts")
        campaigns.append(
            CampaignCounts(**fields, counts=json.loads(counts) if isinstance(counts, str) else counts)
        )
    return campaigns


async def fetch_inspections(conn: Connection, make: Callable[..., _T], sql: str, *args: object) -> list[_T]:
    """The rows of an inspections statement made into `make` (an inspection type), the stored
    reasons decoded from their JSON."""
    made = []
    for r in await conn.fetch(sql, *args):
        fields = dict(r)
        made.append(make(reasons=json.loads(fields.pop("reasons")), **fields))
    return made


async def list_inspections(
    conn: Connection,
    campaign_id: int,
    where: InspectionFilter,
    *,
    after: tuple[date, int, int] | None,
    limit: int,
) -> list[Inspection]:
    """Inspections in day and risk order, after the key `after` (day, rank, id) of the previous page."""
    day, rank, inspection_id = after if after is not None else (None, None, None)
    sql, args = _Q.bind("list_inspections", {
        "campaign_id": campaign_id, "point_id": where.service_point_id, "status": where.status,
        "first_day": where.first_day, "last_day": where.last_day, "device_id": where.device_id,
        "after_day": day, "after_rank": rank, "after_id": inspection_id, "limit": limit,
    })  # fmt: skip
    return await fetch_inspections(conn, Inspection, sql, *args)


async def get_inspection(conn: Connection, inspection_id: int) -> InspectionDetail | None:
    """One inspection with its history, oldest first."""
    found = await fetch_inspections(conn, Inspection, _Q["inspection_view"], inspection_id)
    if not found:
        return None
    history = [HistoryEntry(**dict(h)) for h in await conn.fetch(_Q["inspection_history"], inspection_id)]
    return InspectionDetail(**asdict(found[0]), history=history)


async def plan_grid(conn: Connection, campaign_id: int, *, service_point_id: str | None) -> list[GridCell]:
    """The campaign's plan counted per service point, day and status (withdrawn ones left out)."""
    rows = await conn.fetch(_Q["plan_grid"], campaign_id, service_point_id)
    return [
        GridCell(
            r["point_id"], r["point_name"], r["point_name_en"], r["slots"], r["day"], r["status"], r["n"]
        )
        for r in rows
    ]


async def next_inspection_of_device(conn: Connection, device_id: str, *, on: date) -> NextInspection | None:
    """The device's next inspection from `on` that is still to happen (proposed, accepted, rescheduled)."""
    row = await conn.fetchrow(_Q["next_inspection_of_device"], device_id, on)
    return None if row is None else NextInspection(**dict(row))
