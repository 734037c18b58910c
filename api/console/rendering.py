"""Turning the console's templates into HTML: the one module that uses Jinja2.

Autoescaping is on for every template, so text from devices and customers (names, addresses, notes)
can never become markup; templates also isolate such text in <bdi> so that a right-to-left or
mixed-direction name stored before input refused bidi controls cannot reorder the words around it.
Times are shown in Korean time and say so ("KST"), as agents and customers speak of them. Names from
the catalog and the service-point registry come in the page's language.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from api.console.i18n import Translator, language_of
from diagnostics.catalog import load_catalog
from diagnostics.tickets.store import QUEUE_CLASSES
from telemetry.korean_time import KST

__all__ = ["render", "render_string"]

_env: Final = jinja2.Environment(
    loader=jinja2.PackageLoader("api.console", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _kst(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time in Korean time, saying so; a date (warranty, inspection day) as it is."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(KST).strftime(fmt) + " KST"
    return value.strftime("%Y-%m-%d")


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def _num(value: object, digits: int = 1) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


@jinja2.pass_context
def _fault_name(context: jinja2.runtime.Context, code: str) -> str:
    """The catalog's name of `code` in the page's language; empty for a code outside the catalog."""
    entry = load_catalog().get(code)
    return "" if entry is None else str(getattr(entry.name, context["lang"]))


@jinja2.pass_context
def _point_name(
    context: jinja2.runtime.Context, name: str | None, name_en: str | None, point_id: str | None
) -> str:
    """A service point's name in the page's language; its id when it has no name in that language
    (an English page never shows the Korean name)."""
    chosen = name_en if context["lang"] == "en" else name
    return chosen or point_id or "—"


@jinja2.pass_context
def _reason(context: jinja2.runtime.Context, reason: str | None, details: dict[str, Any] | None) -> str:
    """What an audit entry the engine (or an override) made means, in the page's language, from its
    reason code and details; empty when the entry has no reason the catalog words (the stored English
    note is then shown as it is)."""
    t: Translator = context["t"]
    facts = dict(details or {})
    if reason == "safety_alert_unacknowledged" and not facts.get("next_contacts_alerted"):
        reason = "safety_alert_unacknowledged_nobody"
    key = f"reason.{reason}"
    if reason is None or not t.has(key):
        return ""
    codes = facts.get("active_codes") or [facts.get("code", "")]
    values = {"code": facts.get("code", ""), "codes": ", ".join(str(c) for c in codes),
              "minutes": facts.get("after_minutes", ""), "n": facts.get("next_contacts_alerted", 0),
              "priority": facts.get("priority", "")}  # fmt: skip
    return t(key, **values)


_env.filters.update(kst=_kst, iso=_iso, num=_num)
_env.globals.update(pct=_pct, fault_name=_fault_name, point_name=_point_name, queue_classes=QUEUE_CLASSES,
                    reason_text=_reason)  # fmt: skip


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
