"""The agent console: server-rendered pages over the same functions the API uses.

Agents find a device while the customer is on the phone, technicians and supervisors work the queue
and watch the fleet and the pre-season campaign. Pages are Jinja2 templates with htmx for the parts
that change (search results, live status, ticket moves) and uPlot for charts, both vendored under
static/, so nothing is built or downloaded to run it. Korean and English; signed in with an API key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from api.console import (
    campaign_page,
    cold_wave_page,
    commands_page,
    device_page,
    find_page,
    fleet_page,
    queue_page,
    reports_page,
    sign_in,
)
from api.console.problem_pages import as_page
from api.console.rendering import render

__all__ = ["CONSOLE_ROUTERS", "console_routes", "install_console"]

CONSOLE_ROUTERS: Final[tuple[APIRouter, ...]] = (
    sign_in.router, find_page.router, device_page.router, commands_page.router, queue_page.router,
    fleet_page.router, campaign_page.router, cold_wave_page.router, reports_page.router,
)  # fmt: skip
_PAGES: Final = "/console"
_STATIC: Final = "/console/static"

Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def console_routes() -> list[APIRoute]:
    return [route for router in CONSOLE_ROUTERS for route in router.routes if isinstance(route, APIRoute)]


def install_console(app: FastAPI) -> None:
    """Serve the console from `app`: its pages, its static files, and its errors as pages. Call
    after the API's problem handlers are installed (console errors wrap them)."""
    for router in CONSOLE_ROUTERS:
        app.include_router(router)
    app.mount(_STATIC, StaticFiles(packages=[("api.console", "static")]), name="console-static")
    app.add_exception_handler(sign_in.SignInRequiredError, _to_sign_in)
    app.add_exception_handler(sign_in.ForbiddenError, _forbidden)
    for exc_class, original in list(app.exception_handlers.items()):
        if exc_class not in (sign_in.SignInRequiredError, sign_in.ForbiddenError):
            app.add_exception_handler(exc_class, as_page(original, _is_page))


def _is_page(request: Request) -> bool:
    path = request.url.path
    return (path == _PAGES or path.startswith(_PAGES + "/")) and not path.startswith(_STATIC + "/")


async def _to_sign_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, sign_in.SignInRequiredError)
    location = sign_in.sign_in_location(exc.next_path)
    if request.headers.get("hx-request") == "true":  # htmx follows this header with a full page load
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, sign_in.ForbiddenError)
    key = "error.csrf" if exc.reason == "csrf" else "error.role"
    context = {"status": 403, "message_key": key, "problem_key": None, "subject": "", "issues": []}
    return render(request, "error.html", context, status=403)
