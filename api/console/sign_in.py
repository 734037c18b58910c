"""Signing in to the console with an API key, and the guard every console page declares.

The agent pastes their API key once; the console checks it like the API does, then keeps only a
session cookie (HttpOnly, SameSite=Strict, scoped to /console). Pages take a `ConsoleAllow(...)`
dependency naming the roles they admit, as API routes take `Allow(...)`. Without a live session a
page redirects to the sign-in form and comes back afterwards; a request that changes something must
also carry the session's CSRF token (htmx sends it in a header, plain forms in a hidden field).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Final
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import access_keys
from api.access import Principal, Role, RoleGuard
from api.console import sessions as console_sessions
from api.console.i18n import LANG_COOKIE, LANGUAGES
from api.console.rendering import render
from api.dependencies import DbConnection

__all__ = [
    "CONSOLE_ROLES",
    "SESSION_COOKIE",
    "ConsoleAllow",
    "ConsoleSession",
    "ForbiddenError",
    "SignInRequiredError",
    "SignedIn",
    "router",
    "safe_next",
    "sign_in_location",
]

SESSION_COOKIE: Final = "ondol_console"
SESSION_LIFETIME: Final = timedelta(hours=12)
"""One shift; the agent signs in again the next day."""
CSRF_HEADER: Final = "x-console-csrf"
CSRF_FIELD: Final = "csrf_token"
CONSOLE_ROLES: Final = (Role.ADMIN, Role.AGENT, Role.TECHNICIAN)
"""Customers and device provisioners have no console: their keys are refused at sign-in."""
_UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})

router = APIRouter(prefix="/console", include_in_schema=False)


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    principal: Principal
    csrf_token: str


class SignInRequiredError(Exception):
    """No live session: the page sends the browser to the sign-in form (see install_console)."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign in first")
        self.next_path = next_path


class ForbiddenError(Exception):
    """A signed-in agent whose role may not do this, or a change without the session's CSRF token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConsoleAllow(RoleGuard):
    """Dependency: a live console session of one of `roles`, and for changes its CSRF token."""

    async def __call__(self, request: Request, conn: DbConnection) -> ConsoleSession:
        token = request.cookies.get(SESSION_COOKIE)
        found = await console_sessions.session_identity(conn, token) if token else None
        if found is None:
            raise SignInRequiredError(_current_path(request))
        key = found.key
        session = ConsoleSession(
            Principal(key_id=key.key_id, name=key.name, role=Role(key.role),
                      service_point_id=key.service_point_id, customer_phone=key.customer_phone),
            found.csrf_token,
        )  # fmt: skip
        request.state.console_session = session
        if session.principal.role not in self.roles:
            raise ForbiddenError("role")
        if request.method in _UNSAFE and not hmac.compare_digest(await _sent_csrf(request), found.csrf_token):
            raise ForbiddenError("csrf")
        return session


async def _sent_csrf(request: Request) -> str:
    if sent := request.headers.get(CSRF_HEADER):
        return sent
    form = await request.form()
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else ""


def _current_path(request: Request) -> str:
    """The page to come back to after signing in: the page itself, or for a fragment or a change
    the page that asked for it."""
    if request.method == "GET" and request.headers.get("hx-request") != "true":
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    page = urlsplit(request.headers.get("hx-current-url", ""))
    return safe_next(page.path + (f"?{page.query}" if page.query else ""))


def safe_next(target: str | None) -> str:
    """Where to go after signing in or switching language: only a console path of this site (an
    open redirect to another site would make a convincing phishing link)."""
    if not target or not target.startswith("/console") or target.startswith("//") or "\\" in target:
        return "/console/find"
    return target


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "sign_in.html", {"next": safe_next(next), "error": None})


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(
    request: Request,
    conn: DbConnection,
    api_key: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Check the key as the API would; a key of a role without a console is refused with a reason."""
    identity = await access_keys.verify_key(conn, api_key.strip())
    error = None
    if identity is None:
        error = "sign_in.error.unknown"
    elif Role(identity.role) not in CONSOLE_ROLES:
        error = "sign_in.error.role"
    if error is not None or identity is None:
        return render(request, "sign_in.html", {"next": safe_next(next), "error": error}, status=401)
    async with conn.transaction():
        session = await console_sessions.open_session(conn, key_id=identity.key_id, lifetime=SESSION_LIFETIME)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, session.token, max_age=int(SESSION_LIFETIME.total_seconds()), path="/console",
        httponly=True, samesite="strict", secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


SignedIn = Annotated[ConsoleSession, Depends(ConsoleAllow(*CONSOLE_ROLES))]


@router.post("/sign-out")
async def sign_out(request: Request, conn: DbConnection, session: SignedIn) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    await console_sessions.end_session(conn, token)
    response = RedirectResponse("/console/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    if request.headers.get("hx-request") == "true":
        response.headers["HX-Redirect"] = "/console/sign-in"
    return response


@router.get("/language")
async def switch_language(to: str, next: str | None = None) -> Response:
    """Remember the agent's language for a year and go back to the page they were on."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if to in LANGUAGES:
        response.set_cookie(LANG_COOKIE, to, max_age=365 * 86400, path="/console", samesite="lax")
    return response


def sign_in_location(next_path: str) -> str:
    return f"/console/sign-in?next={quote(safe_next(next_path), safe='/')}"
