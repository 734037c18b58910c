"""The reports' figures for a period, a region and a service point (docs/reports.md). What each
figure means is defined in SQL once (the migration's report_ticket_rows and report_volume_rows);
queries/reports.sql counts them and this module names and types the answers.

Every reader takes `raw`: False reads the rollups (what the API serves), True the same definitions
over the raw tables (what the rollups are checked and benchmarked against)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from enum import StrEnum
from typing import Final

from telemetry import named_queries
from telemetry.database import Connection, Row

__all__ = [
    "Bucket",
    "CareFigures",
    "GroupBy",
    "ReportScope",
    "ServiceFigures",
    "Spread",
    "SurveyComment",
    "TopCode",
    "VolumeRow",
    "as_of",
    "care_figures",
    "service_by_group",
    "service_figures",
    "spread_of",
    "survey_comments",
    "top_codes",
    "volume",
]

_Q: Final = named_queries.load("reports", package="diagnostics.reports").require(
    "service_figures", "care_tickets", "care_cases", "volume", "volume_by_hour", "top_codes", "survey_comments",
    "as_of", "custom_plans",
)  # fmt: skip

KINDS: Final = ("fault", "case", "self_fixed", "ticket", "alert", "call")


class Bucket(StrEnum):
    DAY = "day"
    MONTH = "month"
    WEEK = "week"
    """ISO year and week, 2026-W48."""
    WEEKDAY = "weekday"
    """ISO weekday, 1 = Monday."""
    HOUR = "hour"
    """Hour of the Korean day."""


class GroupBy(StrEnum):
    NONE = ""
    REGION = "region"
    POINT = "point"
    MODEL = "model"
    CODE = "code"
    TECHNICIAN = "technician"


@dataclass(frozen=True, slots=True)
class ReportScope:
    first: date
    last: date
    """Korean days, inclusive."""
    region: str | None = None
    point: str | None = None
    raw: bool = False
    """Read the raw tables instead of the rollups."""

    def params(self) -> dict[str, object]:
        return {"first": self.first, "last": self.last, "region": self.region, "point": self.point,
                "raw": self.raw}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ServiceFigures:
    tickets: int
    contacted_in_time: int
    contact_minutes_p50: float | None
    visit_hours_p50: float | None
    repair_hours_p50: float | None
    resolved: int
    first_visit_fixed: int
    repeat_within_30d: int
    sla_breached: int
    breach_contact_late: int
    breach_not_contacted: int
    breach_safety_unacknowledged: int

    @property
    def contact_rate(self) -> float | None:
        """Share contacted by the 1-hour deadline."""
        return self.contacted_in_time / self.tickets if self.tickets else None

    @property
    def first_visit_fix_rate(self) -> float | None:
        return self.first_visit_fixed / self.resolved if self.resolved else None


_EMPTY_SERVICE: Final = ServiceFigures(0, 0, None, None, None, 0, 0, 0, 0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class CareFigures:
    cases: int
    self_fixed: int
    tickets: int
    fixed_remotely: int
    dispatched: int
    proactive_tickets: int
    predicted: int
    predicted_confirmed: int
    lead_hours_p50: float | None
    survey_answers: int
    survey_score_avg: float | None
    survey_flagged: int


@dataclass(frozen=True, slots=True)
class VolumeRow:
    bucket: str
    group: str
    kind: str
    n: int


@dataclass(frozen=True, slots=True)
class TopCode:
    bucket: str
    code: str
    n: int
    rank: int
    previous_n: int | None
    previous_rank: int | None


@dataclass(frozen=True, slots=True)
class SurveyComment:
    answered_at: datetime
    score: int
    solved: bool
    flagged: bool
    comment: str
    ticket_id: int
    point: str
    code: str
    device_id: str


@dataclass(frozen=True, slots=True)
class Spread:
    """How one figure is spread over the groups (service points, technicians) that have it."""

    groups: int
    low: float
    q1: float
    median: float
    q3: float
    high: float


async def service_by_group(conn: Connection, scope: ReportScope, by: GroupBy) -> dict[str, ServiceFigures]:
    """The service figures per service point or technician ('' for tickets with none)."""
    if by not in (GroupBy.NONE, GroupBy.POINT, GroupBy.TECHNICIAN):
        raise ValueError(f"service figures group by point or technician, not {by.value!r}")
    sql, args = _Q.bind("service_figures", {**scope.params(), "by": by.value})
    return {
        row["grp"]: ServiceFigures(**{k: row[k] for k in _SERVICE_FIELDS})
        for row in await _fetch(conn, sql, args)
    }


_SERVICE_FIELDS: Final = tuple(f.name for f in fields(ServiceFigures))


async def service_figures(conn: Connection, scope: ReportScope) -> ServiceFigures:
    return (await service_by_group(conn, scope, GroupBy.NONE)).get("", _EMPTY_SERVICE)


async def care_figures(conn: Connection, scope: ReportScope) -> CareFigures:
    sql, args = _Q.bind("care_tickets", scope.params())
    tickets = (await _fetch(conn, sql, args))[0]
    sql, args = _Q.bind("care_cases", {k: v for k, v in scope.params().items() if k != "point"})
    cases = (await _fetch(conn, sql, args))[0]
    return CareFigures(**dict(cases), **dict(tickets))


async def volume(
    conn: Connection, scope: ReportScope, bucket: Bucket, by: GroupBy = GroupBy.NONE,
    *, code: str | None = None, model: str | None = None,
) -> list[VolumeRow]:  # fmt: skip
    """Counts per kind, period bucket and group. Hours go by region or point, with no code or model
    filter (the hourly rollup keeps neither)."""
    if by is GroupBy.TECHNICIAN:
        raise ValueError("volume groups by region, point, model or code")
    if code is not None and model is not None:
        raise ValueError("filter by code or by model, not both")
    if bucket is Bucket.HOUR:
        if by in (GroupBy.MODEL, GroupBy.CODE) or code is not None or model is not None:
            raise ValueError("hours of the day go by region or service point only")
        sql, args = _Q.bind("volume_by_hour", {**scope.params(), "by": by.value})
    else:
        if (by is GroupBy.CODE and model is not None) or (by is GroupBy.MODEL and code is not None):
            raise ValueError("grouping by code filters by code only, grouping by model by model only")
        sql, args = _Q.bind("volume", {**scope.params(), "bucket": bucket.value, "by": by.value,
                                       "code": code, "model": model})  # fmt: skip
    return [VolumeRow(r["bucket"], r["grp"], r["kind"], r["n"]) for r in await _fetch(conn, sql, args)]


async def top_codes(
    conn: Connection, scope: ReportScope, bucket: Bucket, *, kind: str = "fault", limit: int = 5
) -> list[TopCode]:
    if bucket not in (Bucket.MONTH, Bucket.WEEK):
        raise ValueError("top codes are ranked per month or per ISO week")
    if kind not in KINDS or kind in ("self_fixed", "call"):
        raise ValueError(f"top codes rank faults, cases, tickets or alerts, not {kind!r}")
    sql, args = _Q.bind("top_codes", {**scope.params(), "bucket": bucket.value, "kind": kind, "limit": limit})
    return [TopCode(**dict(r)) for r in await _fetch(conn, sql, args)]


async def survey_comments(conn: Connection, scope: ReportScope, *, limit: int = 20) -> list[SurveyComment]:
    sql, args = _Q.bind("survey_comments", {**scope.params(), "limit": limit})
    return [SurveyComment(**dict(r)) for r in await _fetch(conn, sql, args)]


async def _fetch(conn: Connection, sql: str, args: tuple[object, ...]) -> list[Row]:
    """Run a report query planned for its own values, every time.

    A prepared statement run often enough may switch to a generic plan made without its values. For
    these queries that plan is several times slower: it cannot drop the branch `raw` turns off, nor
    the filters a NULL region or point switches off (measured: the week-by-region report over a year
    of a million boilers went from 270 ms to 430 ms and more once raw runs had been mixed in). So each
    runs with plan_cache_mode = force_custom_plan, in a transaction of its own (a savepoint when the
    caller has one: the setting then lasts until the caller's transaction ends).
    """
    async with conn.transaction():
        await conn.execute(_Q["custom_plans"])
        return list(await conn.fetch(sql, *args))


async def as_of(conn: Connection) -> datetime | None:
    """When the rollups were last refreshed (None: never)."""
    value: datetime | None = await conn.fetchval(_Q["as_of"])
    return value


def spread_of(values: Sequence[float]) -> Spread | None:
    """Minimum, quartiles and maximum of a figure over the groups that have it (None: no group)."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        v = ordered[0]
        return Spread(1, v, v, v, v, v)
    q1, median, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    return Spread(len(ordered), ordered[0], q1, median, q3, ordered[-1])
