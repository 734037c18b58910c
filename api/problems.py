"""Every error the API returns is an RFC 9457 problem document (`application/problem+json`).

Clients (the call-center console, installer app) handle one error shape: `type`, `title`, `status`,
`detail`, `instance`, plus `errors` for invalid input. Handlers here turn FastAPI's own errors,
database outages and unexpected failures into that shape, so no route formats errors itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from telemetry.database import STORE_UNAVAILABLE

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "ProblemError",
    "ProblemOut",
    "ValidationIssue",
    "database_unavailable",
    "install_problem_handlers",
    "invalid_parameter",
    "problem_responses",
]

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
_TYPE_PREFIX: Final = "urn:ondol:problem:"
_RETRY_AFTER_S: Final = "5"

_UNAVAILABLE_SQLSTATE_CLASSES: Final = frozenset({"08", "53", "57"})
"""Connection exception, insufficient resources (too many connections), operator intervention
(shutdown, starting up, statement timeout): the database cannot serve now, the request is not wrong."""


_DATA_EXCEPTION_CLASS: Final = "22"
"""SQLSTATE class of data exceptions: caused by the values a request sent, so a 422, not a 500."""


def database_unavailable(exc: BaseException) -> bool:
    """Whether a store error means the database is unreachable or cannot serve now (503, not 500)."""
    if not isinstance(exc, STORE_UNAVAILABLE):
        return False
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate is None:
        return (
            True  # refused, unreachable, timed out, connection lost (OSError, TimeoutError, InterfaceError)
        )
    return str(sqlstate)[:2] in _UNAVAILABLE_SQLSTATE_CLASSES


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ProblemOut(BaseModel):
    """An RFC 9457 problem details document."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[ValidationIssue] | None = None


class ProblemError(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        subject: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.headers = dict(headers) if headers else None
        self.subject = subject
        """The id the problem is about (a device id, a ticket number), for pages that word the
        problem themselves in another language (the console)."""


def invalid_parameter(location: str, name: str, message: str) -> RequestValidationError:
    """A 422 for a parameter that passed FastAPI's checks but not the route's own."""
    return RequestValidationError([{"loc": (location, name), "msg": message, "type": "value_error"}])


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the problem documents a route may answer with."""
    return {
        status: {
            "model": ProblemOut,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
        for status in statuses
    }


def problem_response(
    request: Request,
    *,
    status: int,
    slug: str,
    detail: str,
    title: str | None = None,
    errors: Sequence[ValidationIssue] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ProblemOut(
        type=_TYPE_PREFIX + slug,
        title=title or HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=list(errors) if errors is not None else None,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers) if headers else None,
    )


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        request, status=exc.status, slug=exc.slug, detail=exc.detail, title=exc.title, headers=exc.headers
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    issues = [_issue(e) for e in exc.errors()]
    return problem_response(
        request,
        status=422,
        slug="validation-error",
        title="Invalid request",
        detail=f"{len(issues)} invalid input value(s): see errors",
        errors=issues,
    )


def _issue(error: Any) -> ValidationIssue:
    loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
    return ValidationIssue(loc=loc, msg=str(error.get("msg", "")), type=str(error.get("type", "value_error")))


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug = {404: "not-found", 405: "method-not-allowed", 413: "request-too-large"}.get(
        exc.status_code, "http-error"
    )
    return problem_response(
        request,
        status=exc.status_code,
        slug=slug,
        detail=str(exc.detail),
        headers=exc.headers,
    )


async def _on_store_error(request: Request, exc: Exception) -> JSONResponse:
    if str(getattr(exc, "sqlstate", "") or "").startswith(_DATA_EXCEPTION_CLASS):
        # The input held something the database cannot take (a NUL character, a value out of its range).
        return problem_response(
            request, status=422, slug="invalid-input",
            detail=f"The request holds a value the store cannot accept: {getattr(exc, 'message', exc)}",
        )  # fmt: skip
    if not database_unavailable(exc):
        log.error("store error on %s", request.url.path, exc_info=exc)
        return _internal_error(request)
    log.warning("database unavailable for %s: %r", request.url.path, exc)
    return problem_response(
        request,
        status=503,
        slug="database-unavailable",
        detail="The database cannot be reached just now; try again shortly.",
        headers={"Retry-After": _RETRY_AFTER_S},
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Starlette logs and re-raises the exception after this response is sent.
    return _internal_error(request)


def _internal_error(request: Request) -> JSONResponse:
    return problem_response(
        request, status=500, slug="internal-error", detail="An unexpected error occurred."
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error response of `app` a problem document."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    # Store errors are classified by database_unavailable(): 503, or 500 for the rest.
    for error in STORE_UNAVAILABLE:
        app.add_exception_handler(error, _on_store_error)
    app.add_exception_handler(Exception, _on_unexpected)
