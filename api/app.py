"""Builds the FastAPI application: its configuration, database pool lifetime, routers and error format.

The pool is created when the app starts (not at import), so tests and the composition root each
build an app for their own database; it opens no connection up front, so the API starts, and answers
503 problems, while the database is down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from api import (
    routes_catalog,
    routes_devices,
    routes_health,
    routes_quarantine,
    routes_tickets,
    routes_webhooks,
)
from api.outbound_guard import OutboundPolicy
from api.problems import install_problem_handlers
from telemetry.database import create_pool

__all__ = ["ApiConfig", "create_app"]


@dataclass(frozen=True, slots=True)
class ApiConfig:
    database_url: str
    pool_max_size: int = 8
    webhook_allowed_networks: tuple[str, ...] = ()
    """Non-public networks a webhook URL may lead to (checked at subscription and at delivery)."""


def create_app(config: ApiConfig) -> FastAPI:
    """The API app for `config`; its lifespan owns the database pool (in `app.state.pool`)."""
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
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(
        title="Ondol API",
        summary="Remote care for connected gas boilers: devices, telemetry, tickets, the catalog and the quarantine.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.webhook_policy = webhook_policy
    install_problem_handlers(app)
    app.include_router(routes_health.router)
    app.include_router(routes_devices.router)
    app.include_router(routes_quarantine.router)
    app.include_router(routes_tickets.router)
    app.include_router(routes_catalog.router)
    app.include_router(routes_webhooks.router)
    return app
