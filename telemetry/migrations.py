"""Applies the versioned SQL files of `telemetry/migrations/` in order, once each, safely in parallel.

A file is `NNNN_name.sql`, or `NNNN_name.{edition}.sql` where the schema differs between the
TimescaleDB editions (see `telemetry.edition`). Each file runs in its own transaction; an advisory
lock serialises concurrent runners; a checksum catches a file edited after it was applied.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Final

from telemetry.database import Connection
from telemetry.edition import StoreFeatures, detect

__all__ = ["Migration", "MigrationError", "applied_versions", "migrate", "pending"]

_FILE_RE: Final = re.compile(r"^(\d{4})_([a-z0-9_]+)(?:\.(apache|timescale))?\.sql$")
_LOCK_KEY: Final = 0x0D01_0001  # advisory lock id for schema changes


class MigrationError(RuntimeError):
    """The database's schema history disagrees with the migration files."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available(variant: str) -> list[Migration]:
    """The migrations for an edition variant, in version order."""
    folder = resources.files("telemetry") / "migrations"
    by_version: dict[int, Migration] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        match = _FILE_RE.match(entry.name)
        if not match:
            continue
        version, name, file_variant = int(match[1]), match[2], match[3]
        if file_variant not in (None, variant):
            continue
        if version in by_version:
            raise MigrationError(f"two migration files claim version {version}")
        by_version[version] = Migration(version, name, entry.read_text(encoding="utf-8"))
    return [by_version[v] for v in sorted(by_version)]


async def _ensure_history(conn: Connection) -> None:
    await conn.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version integer PRIMARY KEY,
            name text NOT NULL,
            checksum text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )


async def applied_versions(conn: Connection) -> dict[int, str]:
    """Version → checksum of what the database has applied."""
    await _ensure_history(conn)
    rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
    return {int(r["version"]): str(r["checksum"]) for r in rows}


async def pending(conn: Connection, features: StoreFeatures) -> list[Migration]:
    done = await applied_versions(conn)
    todo = []
    for migration in available(features.migration_variant):
        if migration.version in done:
            if done[migration.version] != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name} was changed after it was applied"
                )
            continue
        todo.append(migration)
    return todo


async def migrate(conn: Connection, on_apply: Callable[[Migration], None] | None = None) -> list[Migration]:
    """Apply every pending migration; return those applied (none when up to date)."""
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        features = await detect(conn)  # may create the extension: under the lock too
        todo = await pending(conn, features)
        for migration in todo:
            if on_apply is not None:
                on_apply(migration)
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
        return todo
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
