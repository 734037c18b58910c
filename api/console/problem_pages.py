"""Console errors as pages in the agent's language: the API's problem documents, said in words.

The API's handlers still decide the status (so a console page and an API call fail alike); the page
then names the problem by its type (`urn:ondol:problem:<slug>`) through the message catalog, never
by the API's English detail, and a 422 lists each invalid value with what is wrong with it.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response

from api.console.i18n import Translator
from api.console.rendering import render
from api.problems import ProblemError

__all__ = ["Issue", "as_page", "issues_of"]

Handler = Callable[[Request, Any], Response | Awaitable[Response]]

_TITLES: Final = {
    404: "error.not_found",
    409: "error.conflict",
    422: "error.invalid",
    503: "error.unavailable",
}
_PROBLEM_TYPE: Final = "urn:ondol:problem:"
_LOCATIONS: Final = frozenset({"query", "path", "body", "form", "header", "cookie"})


@dataclass(frozen=True, slots=True)
class Issue:
    """One invalid value: which, and a message key with its values (field, limits, allowed values)."""

    key: str
    values: dict[str, str]


def issues_of(errors: list[Any]) -> list[Issue]:
    """Validation errors as lines to show: the error's type picks the words (one generic line for a
    type the catalog has no words for), its context fills them in."""
    out = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        field = ".".join(loc[1:] if loc and loc[0] in _LOCATIONS else loc) or "?"
        values = {name: str(value) for name, value in (error.get("ctx") or {}).items()} | {"field": field}
        out.append(Issue(_issue_key(str(error.get("type", "")), values), values))
    return out


def _issue_key(kind: str, values: dict[str, str]) -> str:
    """The words for an error type, if the catalog has them and the error carries what they name."""
    key = f"invalid.{kind}"
    try:
        Translator("ko")(key, **values)
        Translator("en")(key, **values)
    except KeyError:  # no words for this type, or words naming a value this error lacks
        return "invalid.other"
    return key


def _problem_key(slug: str | None) -> str | None:
    key = f"problem.{slug}"
    return key if slug and Translator("ko").has(key) else None


def as_page(
    original: Handler, is_page: Callable[[Request], bool]
) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The API's error handler, but a console page gets an HTML page with the same status, in words."""

    async def handler(request: Request, exc: Exception) -> Response:
        answer = original(request, exc)
        response = await answer if inspect.isawaitable(answer) else answer
        if not is_page(request):
            return response
        try:
            problem = json.loads(bytes(response.body))
        except (ValueError, AttributeError):
            problem = {}
        status = response.status_code
        slug = str(problem.get("type", "")).removeprefix(_PROBLEM_TYPE) or None
        page: HTMLResponse = render(request, "error.html", {
            "status": status, "message_key": _TITLES.get(status, "error.other"),
            "problem_key": _problem_key(slug),
            "subject": exc.subject if isinstance(exc, ProblemError) and exc.subject else "",
            "issues": issues_of(list(exc.errors())) if isinstance(exc, RequestValidationError) else [],
        }, status=status)  # fmt: skip
        if "retry-after" in response.headers:
            page.headers["retry-after"] = response.headers["retry-after"]
        return page

    return handler
