"""What the API process tells an operator: a log line per request, and Prometheus metrics.

- **The request log** (`api.requests`): method, route, status, duration and the caller's key id, one
  line per request. A route is named by its template (`/v1/customers/{phone}/export`), never by the
  path as sent: paths may hold phone numbers, and no log line may (docs/data-protection.md).
- **Metrics**: the requests by route and status, and their durations; and, read from the database at
  each scrape, the work queues the workers leave (api.operations): webhook and alert backlogs
  and ages, failures, tickets past their contact clock, the diagnostics inbox. They are served by
  `create_metrics_app` on a listener of their own (ONDOL_API_METRICS_PORT on ONDOL_METRICS_HOST, like
  the gateway's), not on the API's port: a scrape needs no key, and the API's port serves no figures.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any, Final

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.operations import OperationsSnapshot, operations_snapshot
from telemetry.database import STORE_UNAVAILABLE
from telemetry.prometheus import CONTENT_TYPE, CollectorRegistry, Counter, Gauge, Histogram, exposition

__all__ = ["RequestMetrics", "RequestObserver", "create_metrics_app"]

log = logging.getLogger("api.requests")

SCRAPE_TIMEOUT_S: Final = 5.0
_UNMATCHED: Final = "(no route)"
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_STATIC_PREFIXES: Final = ("/console/static", "/docs/static")

_GAUGES: Final[tuple[tuple[str, str, str], ...]] = (
    ("webhook_pending", "ondol_webhook_deliveries_pending", "Webhook deliveries waiting to be sent"),
    ("webhook_oldest_pending_s", "ondol_webhook_oldest_pending_age_seconds",
     "Age of the oldest webhook delivery waiting (0: none)"),
    ("webhook_failed", "ondol_webhook_deliveries_failed", "Webhook deliveries given up on"),
    ("alerts_pending", "ondol_customer_alerts_pending", "Customer alerts waiting, due or not yet"),
    ("alerts_due", "ondol_customer_alerts_due", "Customer alerts due and not yet sent"),
    ("alerts_oldest_due_s", "ondol_customer_alert_oldest_due_age_seconds",
     "How long the longest-waiting due customer alert has been due (0: none)"),
    ("alerts_failed", "ondol_customer_alerts_failed", "Customer alerts that could not be delivered"),
    ("tickets_past_contact_due", "ondol_tickets_past_contact_due",
     "Open tickets whose customer has not been contacted in time"),
    ("tickets_oldest_past_due_s", "ondol_ticket_oldest_past_contact_due_seconds",
     "How far the most overdue open ticket is past its contact clock (0: none)"),
    ("inbox_backlog", "ondol_event_inbox_backlog", "Device events waiting for the diagnostics worker"),
    ("inbox_oldest_s", "ondol_event_inbox_oldest_age_seconds",
     "Age of the oldest event waiting for the diagnostics worker (0: none)"),
    ("diagnostic_failures", "ondol_diagnostic_failures", "Events the diagnostics engine could not handle, kept"),
    ("sync_standbys", "ondol_database_synchronous_standbys",
     "Standbys the database waits for at commit (0: it commits alone)"),
    ("sync_degraded", "ondol_database_sync_degraded",
     "1 while the primary commits alone after losing its synchronous standby: alarm"),
)  # fmt: skip
"""OperationsSnapshot field → metric name, help."""


class RequestMetrics:
    """The API's requests: a counter by method, route and status, and durations by method and route."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ondol_api_requests", "Requests answered", ["method", "route", "status"], registry=self.registry
        )
        self.seconds = Histogram(
            "ondol_api_request_seconds", "Time to answer a request", ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5), registry=self.registry,
        )  # fmt: skip


class RequestObserver:
    """ASGI middleware: counts, times and logs every HTTP request after the app has routed it."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app fails before answering

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method, route = _method_of(scope), _route_of(scope)
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.seconds.labels(method, route).observe(seconds)
        if route in _STATIC_PREFIXES and status < 400:
            return  # a page's style sheets and scripts: one line for the page is enough
        state: dict[str, Any] = scope.get("state") or {}
        key = f" key={state['key_id']}" if "key_id" in state else ""
        log.log(logging.WARNING if status >= 500 else logging.INFO, "%s %s %d %.1f ms%s",
                method, route, status, seconds * 1000, key)  # fmt: skip


def _method_of(scope: Scope) -> str:
    """The method, or OTHER: a client chooses it, and each value would be a new series to keep."""
    method = str(scope["method"])
    return method if method in _METHODS else "OTHER"


def _route_of(scope: Scope) -> str:
    """The route's template, the mount of a static file, or (no route): never the path as sent."""
    route = scope.get("route")
    if route is not None and hasattr(route, "path"):
        return str(route.path)
    mount = str(scope.get("root_path", ""))
    return mount if mount in _STATIC_PREFIXES else _UNMATCHED


def create_metrics_app(api: FastAPI) -> FastAPI:
    """`GET /metrics` for the API app `api`: its request metrics and the work queues, read through its
    database pool at each scrape. A store that does not answer gives `ondol_store_up 0` and no queue
    figures (rather than stale or zero ones), still with status 200 so the scrape itself succeeds."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    async def metrics() -> Response:
        requests: RequestMetrics = api.state.request_metrics
        snapshot = await _snapshot(api)
        return Response(exposition(requests.registry) + exposition(_store_registry(snapshot)),
                        media_type=CONTENT_TYPE)  # fmt: skip

    app.add_api_route("/metrics", metrics, methods=["GET"])
    return app


async def _snapshot(api: FastAPI) -> OperationsSnapshot | None:
    pool = getattr(api.state, "pool", None)
    if pool is None:  # the API has not started yet
        return None
    try:
        async with pool.acquire(timeout=SCRAPE_TIMEOUT_S) as conn:
            return await operations_snapshot(conn, datetime.now(UTC))
    except STORE_UNAVAILABLE as exc:
        logging.getLogger(__name__).warning("metrics: the database does not answer (%r)", exc)
        return None


def _store_registry(snapshot: OperationsSnapshot | None) -> CollectorRegistry:
    """A registry built for one scrape, holding what the database said."""
    registry = CollectorRegistry()
    Gauge("ondol_store_up", "1 when the database answered this scrape", registry=registry).set(
        snapshot is not None
    )
    if snapshot is not None:
        for field, name, help_text in _GAUGES:
            Gauge(name, help_text, registry=registry).set(getattr(snapshot, field))
    return registry
