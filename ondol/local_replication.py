"""A primary and synchronous standbys on loopback: each a private cluster on its own port, started by
the same code as the single cluster (docs/reliability.md, "Losing a database machine").

The nodes are named `node0`, `node1`, ... for as long as they live, whatever their role: the name is
the `application_name` a standby streams under, and every node carries the same
`synchronous_standby_names = 'FIRST 1 (node0, node1, ...)'`, so whichever node is the primary waits
for one other to have each commit flushed before it says the commit is done. A primary is never its
own standby, so the list needs no change when roles change.

Failover is `promote` (the standby ends recovery and takes writes). Rejoining is `rejoin`: the old
primary, stopped, is rewound to the new primary's history (pg_rewind) and follows it as a standby.
Clients follow without restarting: they are given every node in one URL (`dsn`) with
`target_session_attrs=read-write`, so a reconnection finds whichever node is now the primary.
"""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from ondol.local_servers import PostgresServer, ServerError, free_port
from telemetry.database import connect
from telemetry.replication import record_event

__all__ = ["ReplicatedPostgres", "replication_settings"]

_NAME: Final = "node{}"


def _record_event(node: PostgresServer, event: Literal["degraded", "restored"], detail: str) -> None:
    """Record what was done to synchronous replication, through the table's owner (telemetry)."""

    async def write() -> None:
        async with connect(node.dsn, application_name="ondol-db") as conn:
            await record_event(conn, event, detail)

    asyncio.run(write())


def replication_settings(nodes: int) -> dict[str, str]:
    """What every node of a replicated set runs with (the single cluster runs without them)."""
    names = ", ".join(_NAME.format(i) for i in range(nodes))
    return {
        "wal_level": "replica",
        "wal_log_hints": "on",  # pg_rewind needs it to rejoin a former primary
        "wal_keep_size": "2GB",  # a standby back within minutes catches up from the primary's WAL
        "max_wal_senders": "10",
        "hot_standby": "on",
        "hot_standby_feedback": "on",  # reports on a standby do not get their rows vacuumed away
        "synchronous_commit": "on",
        "synchronous_standby_names": f"FIRST 1 ({names})",
    }


@dataclass
class ReplicatedPostgres:
    """`1 + replicas` clusters under `base_dir` (`node0` starts as the primary)."""

    base_dir: Path
    replicas: int
    host: str = "127.0.0.1"
    ports: list[int] = field(default_factory=list)
    extra_settings: dict[str, str] = field(default_factory=dict)
    nodes: list[PostgresServer] = field(init=False)
    _synchronous_names: str = field(init=False, default="")
    primary: int = 0
    """The index of the node that takes writes."""

    def __post_init__(self) -> None:
        if self.replicas < 1:
            raise ValueError("a replicated set has at least one standby")
        count = 1 + self.replicas
        ports = self.ports or [free_port(self.host) for _ in range(count)]
        if len(ports) != count:
            raise ValueError(f"{count} nodes need {count} ports, not {len(ports)}")
        self.base_dir.mkdir(parents=True, exist_ok=True)  # where the postgres user's access is checked
        settings = replication_settings(count) | self.extra_settings
        self._synchronous_names = settings.pop("synchronous_standby_names")
        self.nodes = [
            PostgresServer(self.base_dir / _NAME.format(i), port, host=self.host, extra_settings=settings)
            for i, port in enumerate(ports)
        ]
        self.ports = ports

    def name(self, index: int) -> str:
        return _NAME.format(index)

    def initialise(self) -> bool:
        """Create the primary and clone each standby from it (all left stopped); True when created now.

        The primary is made without synchronous_standby_names (creating the database would wait for a
        standby that does not exist yet); the list is written to every node once the standbys are
        cloned, so it takes effect at the next start."""
        primary = self.nodes[0]
        created = primary.initialise()
        standbys = [i for i in range(1, len(self.nodes)) if not self.nodes[i].initialised]
        if not standbys:
            return created
        primary.start()
        try:
            for i in standbys:
                self.nodes[i].clone_from(primary, self.name(i))
        finally:
            primary.stop()
        for node in self.nodes:
            node.set_setting("synchronous_standby_names", self._synchronous_names)
        return True

    def detect_roles(self) -> dict[int, str]:
        """Each node's role as it answers now: primary, standby, or down."""
        roles = {}
        for i, node in enumerate(self.nodes):
            try:
                roles[i] = "standby" if node.sql("SELECT pg_is_in_recovery()") == "t" else "primary"
            except (ServerError, OSError, subprocess.SubprocessError):
                roles[i] = "down"
        return roles

    def start(self) -> None:
        """The primary first, then the standbys (a synchronous primary waits for them to commit)."""
        self.nodes[self.primary].start()
        for i, node in enumerate(self.nodes):
            if i != self.primary:
                node.start()

    def stop(self, mode: str = "fast") -> None:
        for node in self.nodes:
            node.stop(mode)

    def promote(self, index: int) -> bool:
        """Fail over to standby `index`: it ends recovery and takes writes from now on. When no other
        standby streams to it (the usual case with one standby: the lost primary was the other node),
        it goes on alone at once, as the synchronous-standby watch would after its wait
        (telemetry.replication): commits do not wait for a copy nobody can make. True when it did."""
        if index == self.primary:
            raise ServerError(f"{self.name(index)} is already the primary")
        node = self.nodes[index]
        node.promote()
        self.primary = index
        streaming = int(node.sql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") or 0)
        if streaming:
            return False
        node.sql("ALTER SYSTEM SET synchronous_standby_names = ''")
        node.sql("SELECT pg_reload_conf()")
        _record_event(node, "degraded", f"promoted {self.name(index)} with no standby streaming")
        return True

    def rejoin(self, index: int) -> None:
        """Bring a former primary (or a lost standby) back as a standby of the current primary: stopped,
        rewound to the primary's history, then started following it."""
        if index == self.primary:
            raise ServerError(f"{self.name(index)} is the primary")
        node, primary = self.nodes[index], self.nodes[self.primary]
        node.stop("fast")
        node.stop_stale()  # running, but started by another process (`ondol up`)
        # A newly promoted primary writes its new timeline into its control file only at a checkpoint;
        # before one, pg_rewind sees both on the same timeline and rewinds nothing (and the old primary,
        # ahead on the old timeline, could never follow).
        primary.sql("CHECKPOINT")
        node.rewind_from(primary)
        node.set_setting("synchronous_standby_names", self._synchronous_names)
        node.follow(primary, self.name(index))
        node.start()

    def restore_synchronous(self) -> None:
        """Put the standby list back in force on the primary once a standby streams again (what the
        worker's watch does by itself; for a set run without a worker)."""
        node = self.nodes[self.primary]
        quoted = self._synchronous_names.replace("'", "''")
        node.sql(f"ALTER SYSTEM SET synchronous_standby_names = '{quoted}'")
        node.sql("SELECT pg_reload_conf()")
        _record_event(node, "restored", "a standby rejoined")

    @property
    def synchronous_names(self) -> str:
        """The synchronous_standby_names every node keeps (what the worker's watch restores)."""
        return self._synchronous_names

    @property
    def password(self) -> str:
        return self.nodes[0].password_file.read_text().strip()

    def dsn(self, attrs: str = "read-write") -> str:
        """Every node in one URL: a client connects to the first that answers with `attrs`
        (read-write: the primary; prefer-standby: a standby if one is up, else the primary)."""
        node = self.nodes[0]
        hosts = ",".join(f"{self.host}:{port}" for port in self.ports)
        return (
            f"postgresql://{node.user}:{self.password}@{hosts}/{node.database}?target_session_attrs={attrs}"
        )
