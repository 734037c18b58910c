"""Migrations apply once, in order, in parallel safely, and refuse a file changed after it ran."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from telemetry import migrations
from telemetry.migrations import Migration, MigrationError, migrate


async def test_an_up_to_date_database_applies_nothing(db: asyncpg.Connection) -> None:
    assert await migrate(db) == []
    versions = [
        r["version"] for r in await db.fetch("SELECT version FROM schema_migrations ORDER BY version")
    ]
    assert versions == [m.version for m in migrations.available("apache")]


async def test_concurrent_runners_apply_each_migration_once(empty_db_dsn: str) -> None:
    conns = [await asyncpg.connect(empty_db_dsn) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in conns))
    finally:
        for c in conns:
            await c.close()
    assert sorted(len(r) for r in results) == [0, 0, len(migrations.available("apache"))]


async def test_a_migration_edited_after_it_was_applied_is_refused(
    db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = migrations.available("apache")
    edited = [Migration(m.version, m.name, m.sql + "\n-- edited") if m.version == 1 else m for m in real]
    monkeypatch.setattr(migrations, "available", lambda _variant: edited)
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(db)
