"""Device endpoints: list and look up devices with their status, register them, chart their telemetry.

Routes only translate HTTP to calls of the telemetry layer and back; status rules, pagination keys
and rollup use live there.

Agents and admins see every device; a technician sees the devices their service point has open work
on, a customer the devices they are a contact of (and, of the contacts, only themselves).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

from fastapi import APIRouter, Path, Query, Response
from pydantic import AwareDatetime

from api.access import Principal, Role, allow, allow_reads, ensure_device_visible
from api.dependencies import DbConnection, ReadDbConnection
from api.pagination import decode_text_cursor, encode_text_cursor, split_page
from api.problems import ProblemError, invalid_parameter, problem_responses
from api.record_audit import record
from api.schemas.devices import (
    DeviceDetail,
    DeviceIn,
    DevicePage,
    DeviceSearchResult,
    DeviceSummary,
    FieldStatsOut,
    InstallerStatusOut,
    PhoneQuery,
    RegionQuery,
    TelemetryBucket,
    TelemetryOut,
)
from api.schemas.tickets import TicketOut
from diagnostics.tickets import store as ticket_store
from protocol.contract import DEVICE_ID_PATTERN
from telemetry import device_registry, series
from telemetry.device_registry import DeviceStatus
from telemetry.phone_numbers import national_phone

__all__ = ["MAX_BUCKETS", "parse_bucket", "router"]

router = APIRouter(prefix="/v1/devices", tags=["devices"])

MAX_BUCKETS: Final = 10_000
MIN_BUCKET: Final = timedelta(minutes=1)
MAX_BUCKET: Final = timedelta(days=7)
DEFAULT_WINDOW: Final = timedelta(hours=24)
EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(2100, 1, 1, tzinfo=UTC)
_BUCKET_RE: Final = re.compile(r"^([1-9][0-9]{0,6})([smhd])$")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}

DeviceId = Annotated[str, Path(pattern=DEVICE_ID_PATTERN, description="The device's id.")]
Staff = Annotated[Principal, allow(Role.ADMIN, Role.AGENT)]
DeviceReader = Annotated[Principal, allow(Role.ADMIN, Role.AGENT, Role.TECHNICIAN, Role.CUSTOMER)]
Provisioner = Annotated[Principal, allow(Role.ADMIN, Role.DEVICE_PROVISIONER)]
StatusReader = Annotated[Principal, allow_reads(Role.ADMIN, Role.AGENT, Role.DEVICE_PROVISIONER)]
SeriesReader = Annotated[Principal, allow_reads(Role.ADMIN, Role.AGENT, Role.TECHNICIAN, Role.CUSTOMER)]


def _not_found(device_id: str) -> ProblemError:
    return ProblemError(
        404, "device-not-found", f"No device {device_id!r} is registered.", title="Unknown device"
    )


@router.get("", response_model=DevicePage, responses=problem_responses(400, 422, 503))
async def list_devices(
    conn: DbConnection,
    caller: Staff,
    status: Annotated[DeviceStatus | None, Query(description="Only devices with this status.")] = None,
    region: RegionQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> DevicePage:
    """Devices ordered by device_id, filtered by status and region."""
    after = decode_text_cursor(cursor) if cursor is not None else None
    views = await device_registry.list_devices(
        conn, status=status, region=region, after=after, limit=limit + 1
    )
    page, last = split_page(views, limit)
    await record(conn, caller, "view", "device-list")
    return DevicePage(
        items=[DeviceSummary.model_validate(v) for v in page],
        next_cursor=encode_text_cursor(last.device_id) if last else None,
    )


@router.get("/search", response_model=DeviceSearchResult, responses=problem_responses(422, 503))
async def search_devices(
    conn: DbConnection,
    caller: Staff,
    phone: PhoneQuery = None,
    name: Annotated[
        str | None,
        Query(min_length=2, max_length=100, description="Part of the customer's or a contact's name."),
    ] = None,
    address: Annotated[
        str | None, Query(min_length=2, max_length=200, description="Part of the address.")
    ] = None,
    device_id: Annotated[
        str | None, Query(min_length=1, max_length=64, description="The start of the device id.")
    ] = None,
    model: Annotated[str | None, Query(max_length=64)] = None,
    region: RegionQuery = None,
    status: Annotated[DeviceStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> DeviceSearchResult:
    """Find a caller's device from what they say: every given criterion must match. At most
    `limit` devices by device_id; `truncated` says there were more (narrow the search)."""
    search = device_registry.DeviceSearch(phone=phone, name=name, address=address, device_id_prefix=device_id,
                                          model=model, region=region, status=status)  # fmt: skip
    if search.is_empty():
        raise invalid_parameter(
            "query", "criteria", "give at least one of phone, name, address, device_id, model, region, status"
        )
    views = await device_registry.search_devices(conn, search, limit=limit + 1)
    await record(conn, caller, "view", "search", [v.device_id for v in views[:limit]] or [None])
    return DeviceSearchResult(
        items=[DeviceSummary.model_validate(v) for v in views[:limit]], truncated=len(views) > limit
    )


@router.get("/{device_id}", response_model=DeviceDetail, responses=problem_responses(404, 422, 503))
async def get_device(
    conn: DbConnection, reads: ReadDbConnection, caller: DeviceReader, device_id: DeviceId
) -> DeviceDetail:
    """One device with its status, latest values and active error codes. Read from a replica when
    there is one (api.read_routing); the access log is written on the primary, so this answers 503
    while the primary is down rather than show personal data unlogged."""
    await ensure_device_visible(reads, caller, device_id, _not_found(device_id))
    await record(conn, caller, "view", "device", [device_id])
    view = await device_registry.get_device(reads, device_id=device_id)
    if view is None:
        raise _not_found(device_id)
    tickets = await ticket_store.open_tickets_of_device(reads, device_id=device_id)
    detail = DeviceDetail.model_validate(view)
    if caller.role is Role.TECHNICIAN:  # other service points' tickets are theirs
        tickets = [t for t in tickets if t.service_point_id == caller.service_point_id]
    detail.open_tickets = [TicketOut.model_validate(t) for t in tickets]
    if caller.role is Role.CUSTOMER:  # the other contacts' numbers are not theirs to see
        detail.contacts = [c for c in detail.contacts if national_phone(c.phone) == caller.customer_phone]
    return detail


@router.post(
    "", status_code=201, response_model=DeviceDetail,
    responses={**problem_responses(409, 422, 503), 200: {"description": "An existing registration was updated"}},
)  # fmt: skip
async def register_device(
    conn: DbConnection, caller: Provisioner, device: DeviceIn, response: Response
) -> DeviceDetail:
    """Register a device (201), or update the registration of an existing device_id (200, admins
    only: an installer's key must not be able to change who is alerted about someone's boiler)."""
    existed = await device_registry.device_exists(conn, device_id=device.device_id)
    if existed and caller.role is not Role.ADMIN:
        raise ProblemError(409, "device-exists", f"{device.device_id!r} is registered already; an admin updates it.",
                           title="Device already registered")  # fmt: skip
    try:
        async with conn.transaction():
            await device_registry.register_devices(
                conn, devices=[device.to_record()], registered_by=caller.key_id
            )
            await record(conn, caller, "change", "device", [device.device_id])
    except device_registry.DeviceConflictError as exc:
        raise ProblemError(
            409, "device-conflict", f"The registration clashes with a stored device ({exc.constraint})."
        ) from exc
    view = await device_registry.get_device(conn, device_id=device.device_id)
    if view is None:  # removed again between the commit and this read
        raise _not_found(device.device_id)
    response.headers["Location"] = f"{router.prefix}/{device.device_id}"
    if existed:
        response.status_code = 200
    return DeviceDetail.model_validate(view)


@router.get(
    "/{device_id}/status", response_model=InstallerStatusOut, responses=problem_responses(404, 422, 503)
)
async def device_status(
    conn: ReadDbConnection, caller: StatusReader, device_id: DeviceId
) -> InstallerStatusOut:
    """Whether the device came online (status, last seen, what its birth message said), nothing about
    its household. An installer's key sees the devices it registered; others answer 404."""
    registered_by = caller.key_id if caller.role is Role.DEVICE_PROVISIONER else None
    status = await device_registry.installer_status(conn, device_id=device_id, registered_by=registered_by)
    if status is None:
        raise _not_found(device_id)
    return InstallerStatusOut.model_validate(status)


def parse_bucket(text: str) -> timedelta:
    """'30s', '5m', '1h', '7d' → a width between MIN_BUCKET and MAX_BUCKET; ValueError otherwise."""
    match = _BUCKET_RE.match(text)
    if match is None:
        raise ValueError("bucket must be a whole number and a unit s, m, h or d, like 5m or 1h")
    width = timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])
    if not MIN_BUCKET <= width <= MAX_BUCKET:
        raise ValueError("bucket must be between 1m and 7d")
    return width


def _window(
    start: datetime | None, end: datetime | None, bucket_text: str
) -> tuple[datetime, datetime, timedelta]:
    """The time range and bucket width of a telemetry request, checked; 422 when unusable."""
    try:
        bucket = parse_bucket(bucket_text)
    except ValueError as exc:
        raise invalid_parameter("query", "bucket", str(exc)) from exc
    for name, value in (("from", start), ("to", end)):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise invalid_parameter(
                "query", name, f"{name} must lie between {EARLIEST.year} and {LATEST.year}"
            )
    end = end if end is not None else datetime.now(UTC)
    start = start if start is not None else end - DEFAULT_WINDOW
    if start >= end:
        raise invalid_parameter("query", "from", "from must be before to")
    if math.ceil((end - start) / bucket) > MAX_BUCKETS:
        raise invalid_parameter(
            "query", "bucket", f"the range holds more than {MAX_BUCKETS} buckets; widen the bucket"
        )
    return start, end, bucket


@router.get("/{device_id}/telemetry", response_model=TelemetryOut, responses=problem_responses(404, 422, 503))
async def device_telemetry(
    conn: ReadDbConnection,
    caller: SeriesReader,
    device_id: DeviceId,
    from_: Annotated[
        AwareDatetime | None, Query(alias="from", description="ISO 8601 with offset; default to - 24h.")
    ] = None,
    to: Annotated[
        AwareDatetime | None, Query(description="ISO 8601 with offset (exclusive); default now.")
    ] = None,
    bucket: Annotated[str, Query(description="Width: a number and s, m, h or d; 1m to 7d.")] = "5m",
    fields: Annotated[
        str | None, Query(description="Comma-separated fields; default all numeric fields.")
    ] = None,
) -> TelemetryOut:
    """Average, minimum and maximum of each numeric field per time bucket (empty buckets left out)."""
    start, end, width = _window(from_, to, bucket)
    names = _fields(fields)
    await ensure_device_visible(conn, caller, device_id, _not_found(device_id))
    if not await device_registry.device_exists(conn, device_id=device_id):
        raise _not_found(device_id)
    rows = await series.bucketed(conn, device_id=device_id, start=start, end=end, bucket=width, fields=names)
    return TelemetryOut(
        device_id=device_id,
        from_=start,
        to=end,
        bucket_seconds=int(width.total_seconds()),
        source=series.source_for(width),
        buckets=[
            TelemetryBucket(
                start=row.bucket_start,
                n=row.n,
                fields={
                    name: FieldStatsOut(avg=s.avg, min=s.min, max=s.max)
                    for name, s in row.values.items()
                    if s.count and s.avg is not None and s.min is not None and s.max is not None
                },
            )
            for row in rows
        ],
    )


def _fields(text: str | None) -> tuple[str, ...]:
    if text is None:
        return series.NUMERIC_FIELDS
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in series.NUMERIC_FIELDS]
    if unknown or not names:
        raise invalid_parameter(
            "query", "fields", f"unknown fields {unknown}; choose from {', '.join(series.NUMERIC_FIELDS)}"
        )
    return names
