"""The agent console: server-rendered pages over the same functions the API uses.

Agents find a device while the customer is on the phone, technicians and supervisors work the queue
and watch the fleet and the pre-season campaign. Pages are Jinja2 templates with htmx for the parts
that change (search results, live status, ticket moves) and uPlot for charts, both vendored under
static/, so nothing is built or downloaded to run it. Korean and English; signed in with an API key.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any, Final

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from api.console import campaign_page, device_page, find_page, fleet_page, queue_page, sign_in
from api.console.rendering import render

__all__ = ["CONSOLE_ROUTERS", "console_routes", "install_console"]

CONSOLE_ROUTERS: Final[tuple[APIRouter, ...]] = (
    sign_in.router, find_page.router, device_page.router, queue_page.router, fleet_page.router,
    campaign_page.router,
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
            app.add_exception_handler(exc_class, _as_page(original))


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
    return render(request, "error.html", {"status": 403, "message_key": key, "detail": None}, status=403)


def _as_page(original: Handler) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The API's error handler, but a console page gets an HTML page with the same status and words."""

    async def handler(request: Request, exc: Exception) -> Response:
        answer = original(request, exc)
        response = await answer if inspect.isawaitable(answer) else answer
        if not _is_page(request):
            return response
        try:
            problem = json.loads(bytes(response.body))
        except (ValueError, AttributeError):
            problem = {}
        status = response.status_code
        key = {404: "error.not_found", 422: "error.invalid", 503: "error.unavailable"}.get(
            status, "error.other"
        )
        context = {"status": status, "message_key": key, "detail": problem.get("detail"),
                   "errors": problem.get("errors") or []}  # fmt: skip
        page: HTMLResponse = render(request, "error.html", context, status=status)
        for name in ("retry-after",):
            if name in response.headers:
                page.headers[name] = response.headers[name]
        return page

    return handler
