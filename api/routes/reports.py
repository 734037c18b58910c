"""Service-quality reports (docs/reports.md): volumes, service and care figures, the top codes and
the happy calls' comments, for any period (Korean days, at most a year), region and service point.
Every figure is defined once in SQL (diagnostics/reports) and read from its rollups; each answer
says which refresh it is as of. Volumes and group figures also come as CSV (`format=csv`)."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.access import Principal, Role, allow, allow_reads
from api.dependencies import DbConnection, ReadDbConnection
from api.problems import invalid_parameter, problem_responses
from api.record_audit import record
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

__all__ = ["csv_response", "group_rows", "report_scope", "router"]

router = APIRouter(prefix="/v1/reports", tags=["reports"])
Manager = Annotated[Principal, allow_reads(Role.ADMIN, Role.AGENT)]
PointQuery = Annotated[str | None, Query(max_length=64)]
Format = Annotated[Literal["json", "csv"], Query(description="csv: the rows as a spreadsheet file")]
_JSON = dict[str, Any]
_JSON_OR_CSV: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "The rows as JSON, or as a CSV file with `format=csv`",
        "content": {"application/json": {"schema": {"type": "object"}},
                    "text/csv": {"schema": {"type": "string"}}},
    },
}  # fmt: skip


def report_scope(first: date, last: date, region: str | None, point: str | None) -> ReportScope:
    """The scope of a report, refusing a period that runs backwards or spans more than a year."""
    if last < first or (last - first).days > 366:
        raise invalid_parameter("query", "last", "the period runs from first to last, at most a year")
    return ReportScope(first, last, region, point)


@router.get("/service", response_model=_JSON, responses=problem_responses(422, 503))
async def service_report(
    conn: ReadDbConnection, caller: Manager, first: date, last: date, region: RegionQuery = None,
    point: PointQuery = None,
) -> _JSON:  # fmt: skip
    """The period's service figures (contact compliance, times to contact, visit and repair, first-visit
    fixes, repeats, SLA breaches by cause) and care figures (self-fixed, fixed remotely, dispatched,
    proactive and predicted tickets with the lead time, happy calls)."""
    scope = report_scope(first, last, region, point)
    return {
        "as_of": await as_of(conn),
        "service": asdict(await service_figures(conn, scope)),
        "care": asdict(await care_figures(conn, scope)),
    }


@router.get("/service-groups", response_model=None, responses={**_JSON_OR_CSV, **problem_responses(422, 503)})
async def service_groups(
    conn: ReadDbConnection, caller: Manager, first: date, last: date,
    by: Annotated[Literal["point", "technician"], Query()] = "point", region: RegionQuery = None,
    point: PointQuery = None, format: Format = "json",
) -> _JSON | Response:  # fmt: skip
    """The service figures of each service point or technician, and beside them how the fleet's groups
    spread (lowest, quartiles, highest) on contact compliance, first-visit fixes and the medians."""
    scope = report_scope(first, last, region, point)
    groups = await service_by_group(conn, scope, GroupBy(by))
    rows = group_rows(groups, GroupBy(by))
    if format == "csv":
        return csv_response(rows, f"service-by-{by}-{first}-{last}.csv")
    spread = {
        figure: spread_of([v for row in rows if (v := row[figure]) is not None])
        for figure in ("contact_rate", "first_visit_fix_rate", "contact_minutes_p50", "visit_hours_p50",
                       "repair_hours_p50")
    }  # fmt: skip
    return {"as_of": await as_of(conn), "by": by, "groups": rows,
            "spread": {k: asdict(v) if v else None for k, v in spread.items()}}  # fmt: skip


@router.get("/volume", response_model=None, responses={**_JSON_OR_CSV, **problem_responses(422, 503)})
async def volume_report(
    conn: ReadDbConnection, caller: Manager, first: date, last: date,
    bucket: Annotated[Bucket, Query(description="day, month, week (ISO), weekday (1 = Monday) or hour")] = Bucket.MONTH,
    by: Annotated[Literal["", "region", "point", "model", "code"], Query()] = "",
    region: RegionQuery = None, point: PointQuery = None,
    code: Annotated[str | None, Query(max_length=16)] = None, model: Annotated[str | None, Query(max_length=64)] = None,
    format: Format = "json",
) -> _JSON | Response:  # fmt: skip
    """Faults raised, cases, self-fixes, tickets, alerts and inbound calls per period bucket and group."""
    scope = report_scope(first, last, region, point)
    try:
        rows = await volume(conn, scope, bucket, GroupBy(by), code=code, model=model)
    except ValueError as e:
        raise invalid_parameter("query", "by", str(e)) from None
    plain = [asdict(r) for r in rows]
    if format == "csv":
        return csv_response(plain, f"volume-{bucket.value}-{by or 'all'}-{first}-{last}.csv")
    return {"as_of": await as_of(conn), "bucket": bucket.value, "by": by, "rows": plain}


@router.get("/top-codes", response_model=None, responses={**_JSON_OR_CSV, **problem_responses(422, 503)})
async def top_codes_report(
    conn: ReadDbConnection, caller: Manager, first: date, last: date,
    bucket: Annotated[Literal["month", "week"], Query()] = "month",
    kind: Annotated[Literal["fault", "case", "ticket", "alert"], Query()] = "fault",
    limit: Annotated[int, Query(ge=1, le=40)] = 5, region: RegionQuery = None, point: PointQuery = None,
    format: Format = "json",
) -> _JSON | Response:  # fmt: skip
    """The most frequent codes of each month or week, with their rank and count the period before."""
    scope = report_scope(first, last, region, point)
    rows = [asdict(r) for r in await top_codes(conn, scope, Bucket(bucket), kind=kind, limit=limit)]
    if format == "csv":
        return csv_response(rows, f"top-codes-{kind}-{bucket}-{first}-{last}.csv")
    return {"as_of": await as_of(conn), "bucket": bucket, "kind": kind, "rows": rows}


@router.get("/comments", response_model=_JSON, responses=problem_responses(422, 503))
async def comments_report(
    conn: DbConnection, reads: ReadDbConnection, caller: Annotated[Principal, allow(Role.ADMIN, Role.AGENT)],
    first: date, last: date, region: RegionQuery = None, point: PointQuery = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> _JSON:  # fmt: skip
    """The newest happy-call comments of the period's tickets, with their score. A comment is the
    customer's own words: each view is in the access log (written on the primary)."""
    scope = report_scope(first, last, region, point)
    comments = await survey_comments(reads, scope, limit=limit)
    await record(conn, caller, "view", "survey_comments", [c.device_id for c in comments] or [None])
    return {"as_of": await as_of(reads), "rows": [asdict(c) for c in comments]}


def group_rows(groups: dict[str, ServiceFigures], by: GroupBy) -> list[dict[str, Any]]:
    """Each group's service figures as one row, with its two rates (JSON and CSV alike)."""
    return [{by.value: name, **asdict(f), "contact_rate": f.contact_rate, "first_visit_fix_rate": f.first_visit_fix_rate}
            for name, f in groups.items()]  # fmt: skip


def csv_response(rows: list[dict[str, Any]], filename: str) -> Response:
    """Rows as a UTF-8 CSV file with a byte-order mark (so that a spreadsheet reads Korean right)."""
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    return Response(
        "\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )  # fmt: skip


def _cell(value: object) -> object:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
