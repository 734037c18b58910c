"""Turning the console's templates into HTML: the one module that uses Jinja2.

Autoescaping is on for every template, so text from devices and customers (names, addresses, notes)
can never become markup. Times are shown in Korean time, as agents and customers speak of them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from api.console.i18n import Translator, language_of
from telemetry.health_features import KST

__all__ = ["render", "render_string"]

_env: Final = jinja2.Environment(
    loader=jinja2.PackageLoader("api.console", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _kst(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(KST).strftime(fmt)
    return value.strftime("%Y-%m-%d")


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def _num(value: object, digits: int = 1) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


_env.filters.update(kst=_kst, iso=_iso, num=_num)
_env.globals.update(pct=_pct)


def render_string(template: str, context: dict[str, Any]) -> str:
    return _env.get_template(template).render(context)


def render(
    request: Request, template: str, context: dict[str, Any], *, status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:  # fmt: skip
    """The template in the request's language, with what every page shows (who is signed in, the
    CSRF token the page sends back, the current path for the language switch)."""
    lang = language_of(request)
    session = getattr(request.state, "console_session", None)
    page = {
        "lang": lang,
        "t": Translator(lang),
        "session": session,
        "csrf": session.csrf_token if session is not None else "",
        "path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "htmx": request.headers.get("hx-request") == "true",
    }
    html = render_string(template, page | context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})
