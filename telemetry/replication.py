"""The policy for a synchronous standby that is gone (docs/reliability.md, "Losing a database machine").

With `synchronous_standby_names` set, the primary reports a commit done only once a standby has
flushed it: a machine lost after that loses nothing acknowledged. When no standby is streaming, every
commit waits. Waiting forever would also be a loss: the gateway stops acknowledging, the broker's
queues fill, and the call center's tools stop. So the policy is:

- for `degrade_after_s` (10 s) commits wait, and the watch logs an error every pass;
- then the primary goes on alone: the standby list is cleared (ALTER SYSTEM, reload), the waiting
  commits complete, a `degraded` event is written, and the metric `ondol_database_sync_degraded`
  reads 1 until it is restored. From then until a standby is back, a lost primary loses what it
  committed alone;
- once a standby named in the list streams again, the list is put back (`restored`).

`degrade_after_s = 0` never degrades: commits wait for a standby however long that takes.
The watch runs on the primary only (on a standby it does nothing) and needs a role that may ALTER
SYSTEM; a managed PostgreSQL with its own HA manager does this itself (docs/scaling.md).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Final, Literal

from telemetry import named_queries
from telemetry.database import Connection

__all__ = ["SyncPolicy", "SyncWatch", "record_event", "standby_names"]

log = logging.getLogger(__name__)

_Q: Final = named_queries.load("replication").require(
    "standing", "set_standbys", "reload", "record_event", "latest_event", "has_events_table"
)
_NAMES: Final = re.compile(r"\(([^)]*)\)")

Outcome = Literal["degraded", "restored", "waiting"] | None


def standby_names(setting: str) -> list[str]:
    """The names in a `synchronous_standby_names` value ('FIRST 1 (node0, node1)' or 'a, b')."""
    inside = _NAMES.search(setting)
    listed = inside[1] if inside else setting
    return [n.strip().strip('"') for n in listed.split(",") if n.strip() and n.strip() != "*"]


async def record_event(conn: Connection, event: Literal["degraded", "restored"], detail: str) -> bool:
    """Write what was done to synchronous replication (the metrics read the latest); False when the
    schema has no events table yet."""
    if not await conn.fetchval(_Q["has_events_table"]):
        return False
    await conn.execute(_Q["record_event"], event, detail)
    return True


@dataclass(frozen=True, slots=True)
class SyncPolicy:
    standbys: str
    """The synchronous_standby_names to keep in force (empty: not replicated; the watch does nothing)."""
    degrade_after_s: float = 10.0
    """How long commits may wait for a missing standby before the primary goes on alone (0: forever)."""


@dataclass
class SyncWatch:
    """One process's watch over the primary's synchronous standby (its clock lives in memory: a
    restarted watch starts counting again, which only ever delays a degradation)."""

    policy: SyncPolicy
    missing_since: float | None = field(default=None)

    async def check(self, conn: Connection, *, now: float | None = None) -> Outcome:
        """One pass: degrade, restore, or note that commits are waiting; None when all is well."""
        if not self.policy.standbys:
            return None
        moment = time.monotonic() if now is None else now
        names = standby_names(self.policy.standbys)
        row = await conn.fetchrow(_Q["standing"], names)
        assert row is not None
        if row["in_recovery"]:
            self.missing_since = None
            return None
        if row["streaming"] > 0:
            self.missing_since = None
            if row["in_force"] != self.policy.standbys:
                await self._set(conn, self.policy.standbys)
                await record_event(conn, "restored", f"standby streaming again; {self.policy.standbys}")
                log.warning("synchronous replication restored: commits wait for a standby's copy again")
                return "restored"
            return None
        if not row["in_force"]:
            return None  # already going on alone
        if self.missing_since is None:
            self.missing_since = moment
        waited = moment - self.missing_since
        if self.policy.degrade_after_s > 0 and waited >= self.policy.degrade_after_s:
            await self._set(conn, "")
            await record_event(
                conn, "degraded", f"no standby of {self.policy.standbys} streaming for {waited:.0f} s"
            )
            log.error("NO SYNCHRONOUS STANDBY for %.0f s: the primary now commits alone; a lost primary would "
                      "lose what it commits until a standby streams again", waited)  # fmt: skip
            self.missing_since = None
            return "degraded"
        log.error("no synchronous standby streaming for %.0f s: commits wait (going on alone after %.0f s)",
                  waited, self.policy.degrade_after_s)  # fmt: skip
        return "waiting"

    async def _set(self, conn: Connection, value: str) -> None:
        statement = await conn.fetchval(_Q["set_standbys"], value)
        await conn.execute(statement)
        await conn.fetchval(_Q["reload"])
