"""Per-request resources for routes: a pooled database connection, released when the request ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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


@asynccontextmanager
async def _primary(request: Request) -> AsyncIterator[Connection]:
    """The request's one connection to the primary: taken once, shared by every dependency that asks
    for it (a request holding one connection while it waits for a second from the same pool would,
    with enough of them at once, hold the whole pool and wait forever)."""
    shared: Connection | None = getattr(request.state, "primary_connection", None)
    if shared is not None:
        yield shared
        return
    async with pool_of(request).acquire(timeout=ACQUIRE_TIMEOUT_S) as conn:
        request.state.primary_connection = conn
        try:
            yield conn
        finally:
            request.state.primary_connection = None


async def connection(request: Request) -> AsyncIterator[Connection]:
    """A connection from the app's pool; connection failures become 503 problems (see api.problems)."""
    async with _primary(request) as conn:
        yield conn


DbConnection = Annotated[Connection, Depends(connection)]


async def read_connection(request: Request) -> AsyncIterator[Connection]:
    """A connection for a read-only route: a replica's within the lag bound, else the primary's
    (api.read_routing). Never for a write, nor for a read that must see the request's own writes."""
    reads: ReadRouting = request.app.state.reads
    if await reads.use_replica():
        async with reads.replica_connection() as conn:
            yield conn
        return
    reads.count("primary")
    async with _primary(request) as conn:
        yield conn


ReadDbConnection = Annotated[Connection, Depends(read_connection)]
