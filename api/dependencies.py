"""Per-request resources for routes: a pooled database connection, released when the request ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Final

from fastapi import Depends, Request

from telemetry.database import Connection, Pool

__all__ = ["ACQUIRE_TIMEOUT_S", "DbConnection", "connection", "pool_of"]

ACQUIRE_TIMEOUT_S: Final = 10.0
"""Waiting longer for a free connection means the database is overloaded: answer 503 instead."""


def pool_of(request: Request) -> Pool:
    pool: Pool = request.app.state.pool
    return pool


async def connection(request: Request) -> AsyncIterator[Connection]:
    """A connection from the app's pool; connection failures become 503 problems (see api.problems)."""
    async with pool_of(request).acquire(timeout=ACQUIRE_TIMEOUT_S) as conn:
        yield conn


DbConnection = Annotated[Connection, Depends(connection)]
