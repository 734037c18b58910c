"""Where the API's read routes read (docs/reliability.md, "Reads on replicas").

Read routes (device status and telemetry, the reports) take their connection from the read pool
(ONDOL_DATABASE_READ_URL, every node with `target_session_attrs=prefer-standby`: a standby while one
answers, else the primary). A replica further behind than `max_lag_s` is not read from: the route
reads the primary instead. Writes, and reads that must see the request's own writes, stay on the
primary (`DbConnection`).

The lag is checked at most once per `check_every_s` per process, not per request. With synchronous
replication a standby has flushed every commit the primary acknowledged, but may not have replayed
it yet: `replica_lag` counts a standby that replayed all it received as current.

While the primary is down, the read routes keep answering from the standby. Routes that log access to
personal data (a device's detail, search) cannot: the access log is written on the primary, and a
read of personal data without its log entry is refused (503), not served.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Final

from telemetry import named_queries
from telemetry.database import STORE_UNAVAILABLE, Connection, Pool

__all__ = ["ReadRouting"]

log = logging.getLogger(__name__)

_Q: Final = named_queries.load("reads", package="api").require("replica_lag")


@dataclass
class ReadRouting:
    primary: Pool
    replica: Pool | None
    """None: no read URL was given; everything reads the primary."""
    max_lag_s: float = 5.0
    check_every_s: float = 1.0
    acquire_timeout_s: float = 10.0
    """The primary pool is not used here: a read that falls back to the primary shares the request's
    one primary connection (api.dependencies), so a request never waits for a second one."""
    _use_replica: bool = field(default=True, init=False)
    _checked_at: float = field(default=float("-inf"), init=False)
    reads: dict[str, int] = field(default_factory=lambda: {"replica": 0, "primary": 0}, init=False)
    """How many reads went where (for the benchmark and the logs)."""

    async def use_replica(self) -> bool:
        """Whether reads go to the replica now (there is one, and it is within the lag bound). When
        not, the caller reads on the request's own primary connection (api.dependencies)."""
        if self.replica is None:
            return False
        now = time.monotonic()
        if now - self._checked_at >= self.check_every_s:
            self._checked_at = now
            self._use_replica = await self._replica_current()
        return self._use_replica

    @asynccontextmanager
    async def replica_connection(self) -> AsyncIterator[Connection]:
        assert self.replica is not None
        self.count("replica")
        async with self.replica.acquire(timeout=self.acquire_timeout_s) as conn:
            yield conn

    def count(self, where: str) -> None:
        self.reads[where] += 1

    async def _replica_current(self) -> bool:
        assert self.replica is not None
        try:
            async with self.replica.acquire(timeout=self.acquire_timeout_s) as conn:
                row = await conn.fetchrow(_Q["replica_lag"])
        except STORE_UNAVAILABLE as exc:
            log.warning("read replica unavailable (%s): reading the primary", type(exc).__name__)
            return False
        assert row is not None
        lag: float = row["lag_s"]
        if lag > self.max_lag_s:
            if self._use_replica:
                log.warning(
                    "read replica %.1f s behind (bound %.1f s): reading the primary", lag, self.max_lag_s
                )
            return False
        return True
