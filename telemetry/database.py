"""Connection pools for the store: the one place asyncpg pools are created and configured, and how
its users ride out its outages (which failures to retry, how long to wait between attempts)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from protocol.backoff import Backoff, sleep_unless_stopped

__all__ = [
    "STORE_REJECTED",
    "STORE_RETRY",
    "STORE_TRANSIENT",
    "STORE_UNAVAILABLE",
    "CheckViolation",
    "Connection",
    "ForeignKeyViolation",
    "Pool",
    "Row",
    "UniqueViolation",
    "connect",
    "create_pool",
    "create_pool_when_ready",
    "poll_until_stopped",
]

log = logging.getLogger(__name__)

Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy
"""A connection, whether owned or borrowed from a pool."""

Pool: TypeAlias = asyncpg.Pool

Row: TypeAlias = asyncpg.Record
"""A fetched row: by column name (`row["code"]`) or turned into a dict (`dict(row)`)."""

UniqueViolation: Final = asyncpg.UniqueViolationError
ForeignKeyViolation: Final = asyncpg.ForeignKeyViolationError
CheckViolation: Final = asyncpg.CheckViolationError
"""The store's refusals a feature store turns into its own errors (a duplicate, a missing reference,
a broken rule), named here so that only the store imports the driver."""

STORE_UNAVAILABLE: Final = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError, TimeoutError,
                            asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError,
                            asyncpg.InsufficientResourcesError, asyncpg.PostgresError,
                            asyncpg.InternalClientError)  # fmt: skip
"""Failures worth retrying later: the database is down, restarting, overloaded, or the query hit a
transient error. Catch STORE_REJECTED first: those are PostgresErrors too, but retrying cannot help.

InternalClientError ("cannot switch to state …; another operation is in progress") is what asyncpg
raises on a pooled connection whose server went away in the middle of an operation: seen once in a
two-minute database outage drill, where it killed the gateway. The pool closes such a connection on
release; the batch is retried on another."""

STORE_TRANSIENT: Final = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError, TimeoutError,
                          asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError,
                          asyncpg.InsufficientResourcesError, asyncpg.SerializationError,
                          asyncpg.DeadlockDetectedError, asyncpg.InternalClientError)  # fmt: skip
"""Failures of the moment (connection lost, server restarting, lock conflicts), never of the work itself."""

STORE_REJECTED: Final = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError,
                         asyncpg.ProgramLimitExceededError)  # fmt: skip
"""Failures caused by the data written: retrying the same rows fails the same way."""

STORE_RETRY: Final = Backoff(base_s=0.5, cap_s=10.0)
"""How a service waits for a store that is unavailable: half a second at first, doubling to ten
seconds, with equal jitter so that the gateways and workers a restart failed together do not all
come back at the same instant."""


@contextlib.asynccontextmanager
async def connect(dsn: str, *, application_name: str = "ondol") -> AsyncIterator[Connection]:
    """One connection for a command-line job, closed afterwards."""
    conn = await asyncpg.connect(dsn, server_settings={"application_name": application_name})
    try:
        yield conn
    finally:
        await conn.close()


async def _keep_session(conn: Connection) -> None:
    """Release without the reset query: the connection is already rolled back by the pool."""


async def create_pool(
    dsn: str,
    *,
    application_name: str,
    min_size: int = 1,
    max_size: int = 4,
    command_timeout: float = 60.0,
    stateless: bool = False,
) -> Pool:
    """A pool whose connections name the process in pg_stat_activity.

    `stateless`: its users never change session state (no SET, LISTEN, session advisory locks or
    held cursors), so a released connection needs no reset query (`RESET ALL; UNLISTEN *; ...`):
    one round trip less per request. An open transaction is still rolled back on release.
    """
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        command_timeout=command_timeout,
        server_settings={"application_name": application_name},
        reset=_keep_session if stateless else None,
    )
    assert pool is not None
    return pool


async def create_pool_when_ready(
    dsn: str, *, application_name: str, stop: asyncio.Event, max_size: int = 4
) -> Pool | None:
    """A pool once the database answers (a service may start before its database); None if stopped first."""
    failures = 0
    while not stop.is_set():
        try:
            return await create_pool(dsn, application_name=application_name, max_size=max_size)
        except STORE_UNAVAILABLE as exc:
            failures += 1
            delay = STORE_RETRY.delay(failures)
            log.warning("database not reachable yet (%s); retrying in %.1fs", exc, delay)
            await sleep_unless_stopped(stop, delay)
    return None


async def poll_until_stopped(
    one_pass: Callable[[], Awaitable[int]],
    stop: asyncio.Event,
    idle_poll_s: float,
    *,
    what: str,
    wake: asyncio.Event | None = None,
) -> None:
    """The loop of the store's workers (the inbox drain, webhook and alert delivery): call `one_pass`
    (it returns how much it found to do) until `stop` is set. After a pass that found nothing, wait
    for the poll interval, or less when `wake` is set (new work was announced). A store outage is
    waited out with STORE_RETRY, so a restarted database is not hammered by every worker at once."""
    failures = 0
    while not stop.is_set():
        if wake is not None:
            wake.clear()  # work announced from here on is seen by the wait below
        try:
            handled = await one_pass()
        except STORE_UNAVAILABLE as exc:
            failures += 1
            delay = STORE_RETRY.delay(failures)
            log.warning("%s failed (%s); retrying in %.1fs", what, exc, delay)
            await sleep_unless_stopped(stop, delay)
            continue
        failures = 0
        if handled == 0:
            await sleep_unless_stopped(stop, idle_poll_s, wake=wake)
