"""Per-request resources for routes: a pooled database connection, released when the request ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Final

from fastapi import Depends, Request

from api.read_routing import ReadRouting
from telemetry.database import Connection, Pool

__all__ = [
    "ACQUIRE_TIMEOUT_S",
    "DbConnection",
    "ReadDbConnection",
    "connection",
    "pool_of",
    "read_connection",
]

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


async def read_connection(request: Request) -> AsyncIterator[Connection]:
    """A connection for a read-only route: a replica's within the lag bound, else the primary's
    (api.read_routing). Never for a write, nor for a read that must see the request's own writes."""
    reads: ReadRouting = request.app.state.reads
    async with reads.connection() as conn:
        yield conn


ReadDbConnection = Annotated[Connection, Depends(read_connection)]
