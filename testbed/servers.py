"""Private servers for the tests and the benchmarks: PostgreSQL + TimescaleDB and Mosquitto on free
loopback ports, in temporary directories, with the schema migrated as `ondol migrate` would.

The suite keeps one cluster per session and clones a migrated template per test (tests/conftest.py,
through the database helpers below); a benchmark or a fault drill owns its servers for its whole run
(`private_servers`, `private_database`), durable as in production.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import asyncpg

from ondol.local_replication import ReplicatedPostgres
from ondol.local_servers import MosquittoServer, PostgresServer, free_port
from ondol.schema import migrate_schema
from protocol.broker import BrokerAddress

__all__ = [
    "PrivateServers",
    "create_database",
    "database_dsn",
    "database_name",
    "drop_database",
    "migrate_database",
    "private_database",
    "private_servers",
    "temporary_base",
    "temporary_database",
]

_numbers: Final = itertools.count(1)


async def migrate_database(dsn: str) -> None:
    """Apply every migration of every schema package to the database at `dsn`."""
    conn = await asyncpg.connect(dsn)
    try:
        await migrate_schema(conn)
    finally:
        await conn.close()


def temporary_base(prefix: str, parent: Path | None = None) -> Path:
    """A new temporary directory the database can enter (it runs as the postgres user under root)."""
    base = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(base, 0o755)
    return base


def _durable_postgres(base: Path, pg_settings: dict[str, str] | None) -> PostgresServer:
    return PostgresServer(base / "postgres", free_port(), durable=True, extra_settings=pg_settings or {})


@contextmanager
def _migrated(pg: PostgresServer) -> Iterator[PostgresServer]:
    """`pg` created, started and migrated; stopped on the way out (its files kept)."""
    pg.initialise()
    pg.start()
    try:
        asyncio.run(migrate_database(pg.dsn))
        yield pg
    finally:
        pg.stop()


@contextmanager
def private_database(prefix: str, pg_settings: dict[str, str] | None = None) -> Iterator[PostgresServer]:
    """A durable, migrated PostgreSQL in a new directory; stopped and removed on the way out."""
    base = temporary_base(prefix)
    pg = _durable_postgres(base, pg_settings)
    try:
        with _migrated(pg):
            yield pg
    finally:
        shutil.rmtree(pg.data_dir.parent, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class PrivateServers:
    """A durable PostgreSQL (restarts must recover, as in production) and a persistent Mosquitto."""

    base: Path
    pg: PostgresServer
    mq: MosquittoServer

    @property
    def dsn(self) -> str:
        return self.pg.dsn

    @property
    def broker(self) -> BrokerAddress:
        return BrokerAddress(self.mq.host, self.mq.port)


@contextmanager
def private_servers(
    prefix: str,
    *,
    pg_settings: dict[str, str] | None = None,
    parent: Path | None = None,
    keep_logs: bool = False,
) -> Iterator[PrivateServers]:
    """Both servers in a new directory (under `parent` if given), the database migrated; stopped and
    removed on the way out, however the run ends. With `keep_logs`, only the database's and the
    broker's data go (a long run leaves hundreds of MB of rows and WAL); the logs stay for a look."""
    base = temporary_base(prefix, parent)
    pg = _durable_postgres(base, pg_settings)
    mq = MosquittoServer(base / "mosquitto", free_port())
    try:
        with _migrated(pg):
            mq.start()
            try:
                yield PrivateServers(base, pg, mq)
            finally:
                mq.stop()
    finally:
        shutil.rmtree(pg.data_dir.parent, ignore_errors=True)
        shutil.rmtree(mq.persistence_dir if keep_logs else base, ignore_errors=True)


def database_name(prefix: str) -> str:
    """A database name no other test of this run (nor a parallel run) uses."""
    return f"{prefix}_{os.getpid()}_{next(_numbers)}"


def database_dsn(server: PostgresServer, database: str) -> str:
    return server.dsn.rsplit("/", 1)[0] + f"/{database}"


async def create_database(server: PostgresServer, name: str, template: str | None = None) -> str:
    """A new database on `server`, empty or a copy of `template`; its DSN."""
    admin = await asyncpg.connect(server.dsn)
    try:
        await admin.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    finally:
        await admin.close()
    return database_dsn(server, name)


async def drop_database(server: PostgresServer, name: str) -> None:
    admin = await asyncpg.connect(server.dsn)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


@asynccontextmanager
async def temporary_database(
    server: PostgresServer, prefix: str, template: str | None = None
) -> AsyncIterator[str]:
    """A new database on `server`, empty or a copy of `template`, dropped after the block; its DSN."""
    name = database_name(prefix)
    try:
        yield await create_database(server, name, template)
    finally:
        await drop_database(server, name)


@dataclass
class ReplicatedServers(PrivateServers):
    """A primary with synchronous standbys (ondol.local_replication) and a Mosquitto. `dsn` names every
    node with target_session_attrs=read-write, as every process of a replicated deployment is given
    it, so it always reaches whichever node is the primary; `pg` is the node that started as one."""

    replicated: ReplicatedPostgres | None = None

    @property
    def dsn(self) -> str:
        assert self.replicated is not None
        return self.replicated.dsn()

    @property
    def read_dsn(self) -> str:
        assert self.replicated is not None
        return self.replicated.dsn("prefer-standby")


@contextmanager
def replicated_servers(
    prefix: str, *, replicas: int = 1, keep_logs: bool = False
) -> Iterator[ReplicatedServers]:
    """A migrated primary with `replicas` synchronous standbys, and a broker; all stopped and removed
    on the way out (with `keep_logs`, the logs stay)."""
    base = temporary_base(prefix)
    replicated = ReplicatedPostgres(
        base, replicas, extra_settings={"timescaledb.max_background_workers": "0"}
    )
    mq = MosquittoServer(base / "mosquitto", free_port())
    try:
        replicated.initialise()
        replicated.start()
        try:
            asyncio.run(migrate_database(replicated.dsn()))
            mq.start()
            try:
                yield ReplicatedServers(base, replicated.nodes[0], mq, replicated)
            finally:
                mq.stop()
        finally:
            replicated.stop()
    finally:
        for node in replicated.nodes:
            shutil.rmtree(node.data_dir if keep_logs else node.data_dir.parent, ignore_errors=True)
        shutil.rmtree(mq.persistence_dir if keep_logs else base, ignore_errors=True)
