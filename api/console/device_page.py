"""The device page: what an agent reads out while the customer is on the phone, kept live.

The page is the device overview the API serves (api.device_overview), rendered; its status and
faults refresh every few seconds through a fragment, and its charts fetch their series as JSON so
that a week of one-minute readings is drawn by the browser, not shipped as markup.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse

from api.access import Role, ensure_device_visible
from api.console.commands_page import commands_context
from api.console.rendering import render
from api.console.sign_in import ConsoleAllow, ConsoleSession
from api.dependencies import DbConnection
from api.device_overview import device_not_found, load_overview
from diagnostics.answers import store as answer_store
from diagnostics.service_points import ServicePointDirectory
from protocol.contract import DEVICE_ID_PATTERN
from telemetry import device_registry, series
from telemetry.database import Connection

__all__ = ["CHARTS", "WINDOWS", "chart_columns", "router"]

router = APIRouter(prefix="/console/devices", include_in_schema=False)

Reader = Annotated[ConsoleSession, Depends(ConsoleAllow(Role.ADMIN, Role.AGENT, Role.TECHNICIAN))]
DeviceId = Annotated[str, Path(pattern=DEVICE_ID_PATTERN)]
Window = Literal["24h", "7d"]

WINDOWS: Final[dict[str, tuple[timedelta, timedelta]]] = {
    "24h": (timedelta(hours=24), timedelta(minutes=1)),
    "7d": (timedelta(days=7), timedelta(minutes=10)),
}
"""Each chart window and its bucket: a day at full resolution, a week in ten-minute averages (a chart
a few hundred pixels wide cannot show more, and the reading stays a database index range)."""

CHARTS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "water": ("°C", ("ch_flow_c", "ch_return_c")),
    "room": ("°C", ("room_c", "room_setpoint_c", "outdoor_c")),
    "pressure": ("bar", ("ch_pressure_bar",)),
    "modulation": ("%", ("modulation_pct",)),
    "flue": ("°C", ("flue_c",)),
}
"""The charts of the device page: unit and fields; each field's name comes from the message catalog."""
_FIELDS: Final = tuple(dict.fromkeys(f for _, fields in CHARTS.values() for f in fields))
EVENTS_SHOWN: Final = 50
EVENTS_SINCE: Final = timedelta(days=30)


@router.get("/{device_id}", response_class=HTMLResponse)
async def device_page(
    request: Request, conn: DbConnection, session: Reader, device_id: DeviceId
) -> HTMLResponse:
    overview = await load_overview(
        conn, session.principal, device_id, default_warranty_years=request.app.state.default_warranty_years
    )
    d = overview.device
    point = (await ServicePointDirectory.load(conn)).assign(d.latitude, d.longitude, d.region)
    answers = [a for f in overview.active_faults
               if (a := await answer_store.get_answer(conn, f"code-{f.code.lower()}")) is not None]  # fmt: skip
    context = {"o": overview, "events": await _recent_events(conn, device_id), "charts": CHARTS, "point": point,
               "oob": False, "device_id": device_id, "message": None, "answers": answers,
               **await commands_context(conn, session.principal, device_id, request.app.state.command_policy)}  # fmt: skip
    return render(request, "device.html", context)


@router.get("/{device_id}/live", response_class=HTMLResponse)
async def device_live(
    request: Request, conn: DbConnection, session: Reader, device_id: DeviceId
) -> HTMLResponse:
    """The status and fault panel, polled by the open page (its opening was audited already), with
    the panels the same change touches swapped in beside it by id: a fault that appears is also an
    event in the timeline, may have opened a ticket and sent alerts, and the page must not show it
    next to "no errors" or "no alerts" until a reload."""
    overview = await load_overview(
        conn, session.principal, device_id, audit=False,
        default_warranty_years=request.app.state.default_warranty_years,
    )  # fmt: skip
    context = {"o": overview, "events": await _recent_events(conn, device_id), "oob": True}
    return render(request, "device_live.html", context)


async def _recent_events(conn: Connection, device_id: str) -> list[dict[str, Any]]:
    return await device_registry.recent_events(
        conn, device_id=device_id, since=datetime.now(UTC) - EVENTS_SINCE, limit=EVENTS_SHOWN
    )


@router.get("/{device_id}/series")
async def device_series(
    conn: DbConnection, session: Reader, device_id: DeviceId, window: Window = "24h"
) -> JSONResponse:
    """Columns for the charts: bucket times (Unix seconds) and each field's bucket averages (null
    where the boiler sent nothing, so the chart shows a gap rather than a line across an outage)."""
    await ensure_device_visible(conn, session.principal, device_id, device_not_found(device_id))
    if not await device_registry.device_exists(conn, device_id=device_id):
        raise device_not_found(device_id)
    span, bucket = WINDOWS[window]
    end = datetime.now(UTC)
    rows = await series.bucketed(
        conn, device_id=device_id, start=end - span, end=end, bucket=bucket, fields=_FIELDS
    )
    return JSONResponse(
        {"window": window, "bucket_s": int(bucket.total_seconds()), "from": int((end - span).timestamp()),
         "to": int(end.timestamp())} | chart_columns(rows, bucket),
        headers={"Cache-Control": "no-store"},
    )  # fmt: skip


def chart_columns(rows: list[series.BucketRow], bucket: timedelta) -> dict[str, object]:
    """Times and per-field averages, with a null row wherever buckets are missing so the chart
    breaks its lines over a gap in reporting instead of joining across it."""
    times: list[int] = []
    values: dict[str, list[float | None]] = {f: [] for f in _FIELDS}
    step = int(bucket.total_seconds())
    for row in rows:
        at = int(row.bucket_start.timestamp())
        if times and at - times[-1] > step:
            times.append(times[-1] + step)
            for f in _FIELDS:
                values[f].append(None)
        times.append(at)
        for f in _FIELDS:
            avg = row.values[f].avg
            values[f].append(None if avg is None else round(avg, 2))
    return {"t": times, "fields": values}
