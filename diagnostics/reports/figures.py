"""The service and care figures for a period, a region and a service point (docs/reports.md). Each
figure's definition is the SQL in queries/reports.sql; this module only names and types them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from telemetry import named_queries
from telemetry.database import Connection

__all__ = ["CareFigures", "ReportScope", "ServiceFigures", "care_figures", "service_figures"]

_Q: Final = named_queries.load("reports", package="diagnostics.reports").require(
    "care_figures", "service_figures"
)


@dataclass(frozen=True, slots=True)
class ReportScope:
    first: date
    last: date
    """Korean days, inclusive."""
    region: str | None = None
    point: str | None = None

    def params(self) -> dict[str, object]:
        return {"first": self.first, "last": self.last, "region": self.region, "point": self.point}


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


@dataclass(frozen=True, slots=True)
class CareFigures:
    cases: int
    self_fixed: int
    fixed_remotely: int
    dispatched: int
    tickets: int
    proactive_tickets: int
    survey_answers: int
    survey_score_avg: float | None
    survey_flagged: int


async def service_figures(conn: Connection, scope: ReportScope) -> ServiceFigures:
    sql, args = _Q.bind("service_figures", scope.params())
    row = await conn.fetchrow(sql, *args)
    assert row is not None  # an aggregate always answers one row
    return ServiceFigures(**dict(row))


async def care_figures(conn: Connection, scope: ReportScope) -> CareFigures:
    sql, args = _Q.bind("care_figures", scope.params())
    row = await conn.fetchrow(sql, *args)
    assert row is not None
    return CareFigures(**dict(row))
