"""Real servers for the suite: one PostgreSQL + TimescaleDB cluster per session (a fresh database per
test, cloned from a migrated template), and a private Mosquitto broker per test, all on loopback."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from ondol.local_servers import MosquittoServer, PostgresServer, free_port
from protocol.broker import BrokerAddress
from testbed.servers import (
    create_database,
    database_dsn,
    database_name,
    drop_database,
    migrate_database,
    temporary_database,
)

TEMPLATE_DB = "ondol_template"


@pytest.fixture(scope="session")
def servers_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ondol-tests-"))
    os.chmod(path, 0o755)  # the database runs as the postgres user when the suite runs as root
    return path


@pytest.fixture(scope="session")
def pg_server(servers_dir: Path) -> Iterator[PostgresServer]:
    server = PostgresServer(
        servers_dir / "postgres",
        free_port(),
        durable=False,
        # No TimescaleDB background workers: they would hold connections to the template database.
        extra_settings={"timescaledb.max_background_workers": "0", "max_worker_processes": "16"},
    )
    server.initialise()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_dsn(pg_server: PostgresServer) -> str:
    """DSN of a migrated template database; tests get their own copy through `db_dsn`."""

    async def build() -> None:
        await migrate_database(await create_database(pg_server, TEMPLATE_DB))

    asyncio.run(build())
    return database_dsn(pg_server, TEMPLATE_DB)


@pytest.fixture
async def db_dsn(pg_server: PostgresServer, pg_dsn: str) -> AsyncIterator[str]:
    """A fresh, migrated, empty database for one test."""
    async with temporary_database(pg_server, "test", TEMPLATE_DB) as dsn:
        yield dsn


@pytest.fixture
async def db(db_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(db_dsn)
    yield conn
    await conn.close()


@pytest.fixture
def mosquitto(servers_dir: Path) -> Iterator[MosquittoServer]:
    """A private broker for one test, so no test sees another's messages or sessions."""
    server = MosquittoServer(Path(tempfile.mkdtemp(dir=servers_dir, prefix="mqtt-")), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker(mosquitto: MosquittoServer) -> BrokerAddress:
    return BrokerAddress(host=mosquitto.host, port=mosquitto.port)


@pytest.fixture
async def empty_db_dsn(pg_server: PostgresServer) -> AsyncIterator[str]:
    """A database with nothing in it, not even the schema."""
    async with temporary_database(pg_server, "empty") as dsn:
        yield dsn


@pytest.fixture(scope="module")
def fuzz_dsn(pg_server: PostgresServer, pg_dsn: str) -> Iterator[str]:
    """A migrated database with two devices, for synchronous property tests that run their own loop."""
    name = database_name("fuzz")

    async def create() -> None:
        conn = await asyncpg.connect(await create_database(pg_server, name, TEMPLATE_DB))
        await conn.execute(
            "INSERT INTO devices (device_id, model, serial) VALUES ('dev-1', 'M', '1'), ('dev-2', 'M', '2')"
        )
        await conn.close()

    asyncio.run(create())
    yield database_dsn(pg_server, name)
    asyncio.run(drop_database(pg_server, name))
