"""Find: one box for whatever the caller says first: a phone number, a name, part of an address or
the device id on the boiler's label. Results come as the agent types.

Text that is a phone number (telemetry.phone_numbers reads it, however written) is matched against
every contact's number in full; any other text is matched in names and addresses anywhere and in
device ids from the start.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.access import Role
from api.console.rendering import render
from api.console.sign_in import ConsoleAllow, ConsoleSession, SignedIn
from api.dependencies import DbConnection
from api.record_audit import record
from telemetry import device_registry
from telemetry.database import Connection
from telemetry.device_registry import DeviceSearch, DeviceView
from telemetry.phone_numbers import InvalidPhoneError, e164_phone

__all__ = ["MIN_QUERY", "RESULTS", "find_devices", "router"]

router = APIRouter(prefix="/console", include_in_schema=False)

Staff = Annotated[ConsoleSession, Depends(ConsoleAllow(Role.ADMIN, Role.AGENT))]
MIN_QUERY: Final = 2
RESULTS: Final = 20


def searches_for(query: str) -> list[DeviceSearch]:
    """What one search box means: a phone number, or text to look for in names, addresses and ids."""
    text = query.strip()
    if len(text) < MIN_QUERY:
        return []
    try:
        phone = e164_phone(text)
    except InvalidPhoneError:
        return [DeviceSearch(name=text), DeviceSearch(address=text), DeviceSearch(device_id_prefix=text)]
    return [DeviceSearch(phone=phone), DeviceSearch(device_id_prefix=text)]


async def find_devices(conn: Connection, query: str) -> tuple[list[DeviceView], bool]:
    """Devices matching the box, by device id, at most RESULTS; and whether there were more."""
    found: dict[str, DeviceView] = {}
    more = False
    for search in searches_for(query):
        views = await device_registry.search_devices(conn, search, limit=RESULTS + 1)
        more = more or len(views) > RESULTS
        found.update((v.device_id, v) for v in views)
    ordered = [found[k] for k in sorted(found)]
    return ordered[:RESULTS], more or len(ordered) > RESULTS


@router.get("", include_in_schema=False)
async def console_home(session: SignedIn) -> RedirectResponse:
    """Agents start at Find; a technician at their queue."""
    target = "/console/queue" if session.principal.role is Role.TECHNICIAN else "/console/find"
    return RedirectResponse(target, status_code=303)


@router.get("/find", response_class=HTMLResponse)
async def find_page(
    request: Request, conn: DbConnection, session: Staff, q: Annotated[str, Query(max_length=200)] = ""
) -> HTMLResponse:
    return render(request, "find.html", await _results(conn, session, q))


@router.get("/find/results", response_class=HTMLResponse)
async def find_results(
    request: Request, conn: DbConnection, session: Staff, q: Annotated[str, Query(max_length=200)] = ""
) -> HTMLResponse:
    return render(request, "find_results.html", await _results(conn, session, q))


async def _results(conn: Connection, session: ConsoleSession, q: str) -> dict[str, object]:
    devices, more = await find_devices(conn, q)
    if q.strip():
        await record(conn, session.principal, "view", "search", [d.device_id for d in devices] or [None])
    return {"q": q, "devices": devices, "more": more, "too_short": 0 < len(q.strip()) < MIN_QUERY,
            "limit": RESULTS}  # fmt: skip
