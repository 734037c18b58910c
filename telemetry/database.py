"""Connection pools for the store: the one place asyncpg pools are created and configured."""

from __future__ import annotations

import asyncio
import logging
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

__all__ = ["Connection", "create_pool", "create_pool_when_ready"]

log = logging.getLogger(__name__)

Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy
"""A connection, whether owned or borrowed from a pool."""


async def create_pool(
    dsn: str, *, application_name: str, min_size: int = 1, max_size: int = 4, command_timeout: float = 60.0
) -> asyncpg.Pool:
    """A pool whose connections name the process in pg_stat_activity."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        command_timeout=command_timeout,
        server_settings={"application_name": application_name},
    )
    assert pool is not None
    return pool


async def create_pool_when_ready(
    dsn: str, *, application_name: str, stop: asyncio.Event, max_size: int = 4
) -> asyncpg.Pool | None:
    """A pool once the database answers (a service may start before its database); None if stopped first."""
    delay = 0.5
    while not stop.is_set():
        try:
            return await create_pool(dsn, application_name=application_name, max_size=max_size)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("database not reachable yet (%s); retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
    return None
