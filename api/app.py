"""Builds the FastAPI application: its configuration, database pool lifetime, routers and error format.

The pool is created when the app starts (not at import), so tests and the composition root each
build an app for their own database; it opens no connection up front, so the API starts, and answers
503 problems, while the database is down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Final

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from api.access import document_roles
from api.api_docs import install_docs
from api.console import install_console
from api.customer_pages import install_customer_pages
from api.limits.body import BodyLimitMiddleware
from api.limits.rate import RateLimiter
from api.metrics import RequestMetrics, RequestObserver
from api.problems import install_problem_handlers
from api.read_routing import ReadRouting
from api.routes import (
    alerts,
    answers,
    api_keys,
    broker_accounts,
    calls,
    campaigns,
    catalog,
    commands,
    customer_links,
    customers,
    device_overview,
    devices,
    health,
    incidents,
    quarantine,
    reports,
    technicians,
    tickets,
    webhooks,
)
from api.routes.broker_accounts import DeviceBroker
from diagnostics.commands.policy import PolicySettings
from outbox.outbound_guard import OutboundPolicy
from telemetry.database import create_pool

__all__ = ["ROUTERS", "ApiConfig", "api_routes", "create_app"]

ROUTERS: Final[tuple[APIRouter, ...]] = (
    health.router,
    devices.router,
    device_overview.router,
    quarantine.router,
    tickets.router,
    catalog.router,
    webhooks.router,
    api_keys.router,
    alerts.router,
    customers.router,
    broker_accounts.router,
    campaigns.campaigns,
    campaigns.inspections,
    commands.router,
    technicians.router,
    customer_links.router,
    incidents.router,
    incidents.points,
    calls.router,
    answers.router,
    reports.router,
)


def api_routes() -> list[APIRoute]:
    """Every endpoint of the API, as its router declares it."""
    return [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]


@dataclass(frozen=True, slots=True)
class ApiConfig:
    database_url: str
    pool_max_size: int = 8
    read_database_url: str | None = None
    """Where read routes read (replicas: target_session_attrs=prefer-standby); None: the primary."""
    read_max_lag_s: float = 5.0
    webhook_allowed_networks: tuple[str, ...] = ()
    """Non-public networks a webhook URL may lead to (checked at subscription and at delivery)."""
    default_warranty_years: int = 3
    """Warranty length of models the model_warranty table does not list."""
    max_request_bytes: int = 1024 * 1024
    """Larger request bodies get 413 (the largest legitimate one, a device registration, is ~10 kB)."""
    rate_per_key_s: float = 100.0
    rate_burst_per_key: int = 500
    """Requests per API key and process: this many a second on average, bursts up to the burst."""
    device_broker: DeviceBroker | None = None
    """Where devices connect and the CA they trust, told with their MQTT credentials (None: not told)."""
    command_policy: PolicySettings = field(default_factory=PolicySettings)
    command_default_ttl_s: int = 600


def create_app(config: ApiConfig) -> FastAPI:
    """The API app for `config`; its lifespan owns the database pool (in `app.state.pool`), and its
    requests are logged and counted (`app.state.request_metrics`, served by api.metrics)."""
    webhook_policy = OutboundPolicy.allowing(config.webhook_allowed_networks)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await create_pool(
            config.database_url,
            application_name="ondol-api",
            min_size=0,  # the API starts, and answers 503, while the database is down
            max_size=config.pool_max_size,
            stateless=True,  # request handlers only run queries and transactions
        )
        replica = None
        if config.read_database_url:
            replica = await create_pool(
                config.read_database_url, application_name="ondol-api-reads", min_size=0,
                max_size=config.pool_max_size, stateless=True,
            )  # fmt: skip
        app.state.reads = ReadRouting(app.state.pool, replica, max_lag_s=config.read_max_lag_s)
        try:
            yield
        finally:
            if replica is not None:
                await replica.close()
            await app.state.pool.close()

    app = FastAPI(
        title="Ondol API",
        summary="Remote care for connected gas boilers: devices, telemetry, tickets, the catalog and the quarantine.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by install_docs from vendored files, not from a CDN
        redoc_url=None,
    )
    app.state.webhook_policy = webhook_policy
    app.state.default_warranty_years = config.default_warranty_years
    app.state.device_broker = config.device_broker
    app.state.command_policy = config.command_policy
    app.state.command_default_ttl_s = config.command_default_ttl_s
    app.state.rate_limiter = RateLimiter(config.rate_per_key_s, config.rate_burst_per_key)
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.max_request_bytes)
    app.state.request_metrics = RequestMetrics()
    app.add_middleware(RequestObserver, metrics=app.state.request_metrics)  # outermost: sees every answer
    install_problem_handlers(app)
    document_roles(api_routes())
    for router in ROUTERS:
        app.include_router(router)
    install_console(app)
    install_customer_pages(app)
    install_docs(app)
    return app
