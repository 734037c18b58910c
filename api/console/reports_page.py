"""Reports for the call-center manager (docs/reports.md): the service, care and volume figures of a
period with charts, the top codes and how they moved, each service point beside the fleet's spread,
the happy calls' comments, CSV exports of the same rows, and a printable monthly report."""

from __future__ import annotations

from calendar import monthrange
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.access import Role
from api.console.rendering import render
from api.console.report_charts import BarChart, bar_chart
from api.console.sign_in import ConsoleAllow, ConsoleSession
from api.dependencies import DbConnection
from api.problems import invalid_parameter
from api.record_audit import record
from api.routes.reports import csv_response, group_rows, report_scope
from api.schemas.devices import RegionQuery
from diagnostics.reports.figures import (
    Bucket,
    GroupBy,
    ReportScope,
    ServiceFigures,
    as_of,
    care_figures,
    service_by_group,
    service_figures,
    spread_of,
    survey_comments,
    top_codes,
    volume,
)
from telemetry.korean_time import kst_day

__all__ = ["router"]

router = APIRouter(prefix="/console", include_in_schema=False)
Manager = Annotated[ConsoleSession, Depends(ConsoleAllow(Role.ADMIN, Role.AGENT))]
PointQuery = Annotated[str | None, Query(max_length=64)]
CHART_KINDS: Final = ("fault", "ticket", "call")


@router.get("/reports", response_class=HTMLResponse)
async def reports_page(
    request: Request, conn: DbConnection, session: Manager, first: date | None = None, last: date | None = None,
    region: RegionQuery = None, point: PointQuery = None,
) -> HTMLResponse:  # fmt: skip
    """The period's figures; by default the twelve months to yesterday."""
    yesterday = kst_day(datetime.now(UTC)) - timedelta(days=1)
    last = last or yesterday
    first = first or _months_before(last, 11)
    scope = report_scope(first, last, region or None, point or None)
    context = await _figures(conn, scope, Bucket.MONTH, _months(first, last))
    await _log_comments(conn, session, context)
    query = (
        f"first={first}&last={last}"
        + (f"&region={region}" if region else "")
        + (f"&point={point}" if point else "")
    )
    return render(request, "reports.html", context | {"query": query, "form": {"first": first, "last": last,
                                                                              "region": region or "", "point": point or ""}})  # fmt: skip


@router.get("/reports/monthly", response_class=HTMLResponse)
async def monthly_report(
    request: Request, conn: DbConnection, session: Manager,
    month: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")],
    region: RegionQuery = None,
) -> HTMLResponse:  # fmt: skip
    """The month's report for the manager's meeting, laid out for printing (A4, one section per page
    where it fits), beside the month before."""
    year, mon = (int(p) for p in month.split("-"))
    first = date(year, mon, 1)
    last = date(year, mon, monthrange(year, mon)[1])
    scope = ReportScope(first, last, region or None)
    context = await _figures(
        conn, scope, Bucket.DAY, [str(first + timedelta(days=d)) for d in range((last - first).days + 1)]
    )
    await _log_comments(conn, session, context)
    before_last = first - timedelta(days=1)
    before = ReportScope(before_last.replace(day=1), before_last, region or None)
    context |= {"month": month, "region": region or "", "previous": {
        "service": await service_figures(conn, before), "care": await care_figures(conn, before)}}  # fmt: skip
    return render(request, "report_monthly.html", context)


@router.get("/reports/export/{what}.csv")
async def report_export(
    conn: DbConnection, session: Manager, what: Literal["volume", "points", "technicians", "top-codes"],
    first: date, last: date, region: RegionQuery = None, point: PointQuery = None,
    bucket: Annotated[Bucket, Query()] = Bucket.MONTH,
) -> Response:  # fmt: skip
    """The rows behind the page, as CSV: volume by bucket and code, service per point or technician,
    top codes per month."""
    scope = report_scope(first, last, region or None, point or None)
    rows: list[dict[str, Any]]
    if what == "volume":
        rows = [
            asdict(r)
            for r in await volume(
                conn, scope, bucket, GroupBy.NONE if bucket is Bucket.HOUR else GroupBy.CODE
            )
        ]
    elif what == "top-codes":
        if bucket not in (Bucket.MONTH, Bucket.WEEK):
            raise invalid_parameter("query", "bucket", "top codes are ranked per month or per week")
        rows = [asdict(r) for r in await top_codes(conn, scope, bucket)]
    else:
        by = GroupBy.POINT if what == "points" else GroupBy.TECHNICIAN
        rows = group_rows(await service_by_group(conn, scope, by), by)
    return csv_response(rows, f"{what}-{first}-{last}.csv")


async def _figures(
    conn: DbConnection, scope: ReportScope, bucket: Bucket, categories: list[str]
) -> dict[str, Any]:
    """Everything both report pages show for a scope, the volume chart bucketed by `bucket`."""
    by_point = await service_by_group(conn, scope, GroupBy.POINT)
    points = sorted(((name, f) for name, f in by_point.items() if name), key=lambda p: (-p[1].tickets, p[0]))
    return {
        "scope": scope,
        "as_of": await as_of(conn),
        "service": await service_figures(conn, scope),
        "care": await care_figures(conn, scope),
        "volume_chart": await _volume_chart(conn, scope, bucket, categories),
        "weekday_chart": await _volume_chart(conn, scope, Bucket.WEEKDAY, [str(d) for d in range(1, 8)]),
        "hour_chart": await _volume_chart(
            conn, scope, Bucket.HOUR, [str(h) for h in range(24)], label_every=3
        ),
        "top": await top_codes(conn, scope, Bucket.MONTH if bucket is Bucket.MONTH else Bucket.WEEK),
        "points": points,
        "spread": _spread(points),
        "comments": await survey_comments(conn, scope, limit=10),
    }


async def _volume_chart(
    conn: DbConnection, scope: ReportScope, bucket: Bucket, categories: list[str], *, label_every: int = 0
) -> BarChart:
    counts: dict[tuple[str, str], int] = {(r.bucket, r.kind): r.n for r in await volume(conn, scope, bucket)}
    series = {kind: [counts.get((c, kind), 0) for c in categories] for kind in CHART_KINDS}
    every = label_every or max(1, len(categories) // 12)
    return bar_chart(categories, series, label_every=every)


async def _log_comments(conn: DbConnection, session: ConsoleSession, context: dict[str, Any]) -> None:
    """The happy-call comments on the page are customers' own words: the view goes in the access log."""
    devices = [c.device_id for c in context["comments"]] or [None]
    await record(conn, session.principal, "view", "survey_comments", devices)


def _spread(points: list[tuple[str, ServiceFigures]]) -> dict[str, Any]:
    """How the service points spread on the figures shown beside each of them."""

    def values(figure: str) -> list[float]:
        return [v for _, f in points if (v := getattr(f, figure)) is not None]

    return {figure: spread_of(values(figure)) for figure in
            ("contact_rate", "first_visit_fix_rate", "contact_minutes_p50", "repair_hours_p50")}  # fmt: skip


def _months_before(day: date, months: int) -> date:
    """The first day of the month `months` before `day`'s."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _months(first: date, last: date) -> list[str]:
    out = []
    at = first.replace(day=1)
    while at <= last:
        out.append(at.strftime("%Y-%m"))
        at = _months_before(at, -1)
    return out
