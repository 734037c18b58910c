"""Applies the versioned SQL files of the schema's owners, in one global order, once each, safely in parallel.

Each feature package that owns tables owns their migrations: `{package}/migrations/NNNN_name.sql`.
The composition root says which packages those are (`ondol.schema.SCHEMA_PACKAGES`); this runner only
reads the folders it is given. Versions are unique across the project: a version claimed by two
packages is refused, whatever the edition. The history 0001…0019 stays in `telemetry/migrations/`,
where it was applied from (its checksums are on record in deployed databases).

A file is `NNNN_name.sql`, or `NNNN_name.{edition}.sql` where the schema differs between the
TimescaleDB editions (see `telemetry.edition`). Each file runs in its own transaction; an advisory
lock serialises concurrent runners; a checksum catches a file edited after it was applied.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Final

from telemetry.database import Connection
from telemetry.edition import StoreFeatures, detect

__all__ = [
    "Migration",
    "MigrationError",
    "MigrationFile",
    "applied_versions",
    "available",
    "migrate",
    "migration_files",
    "pending",
]

FOLDER: Final = "migrations"
_FILE_RE: Final = re.compile(r"^(\d{4})_([a-z0-9_]+)(?:\.(apache|timescale))?\.sql$")
_LOCK_KEY: Final = 0x0D01_0001  # advisory lock id for schema changes


class MigrationError(RuntimeError):
    """The database's schema history disagrees with the migration files, or the files disagree."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class MigrationFile:
    """One file found in a package's `migrations/` folder."""

    package: str
    version: int
    name: str
    variant: str | None  # None: for every edition
    resource: Traversable

    @property
    def label(self) -> str:
        return f"{self.package}/{FOLDER}/{self.resource.name}"


def migration_files(packages: Sequence[str]) -> list[MigrationFile]:
    """Every migration file of `packages`, in version order; refuses a version two packages claim,
    a listed package without a migrations folder, and a file there whose name the runner would skip."""
    if len(set(packages)) != len(packages):
        raise MigrationError(f"a schema package is listed twice: {list(packages)}")
    found: list[MigrationFile] = []
    for package in packages:
        folder = resources.files(package) / FOLDER
        if not folder.is_dir():
            raise MigrationError(f"{package} is a schema package but has no {FOLDER}/ folder")
        for entry in folder.iterdir():
            if not entry.name.endswith(".sql"):
                continue
            match = _FILE_RE.match(entry.name)
            if not match:
                raise MigrationError(f"{package}/{FOLDER}/{entry.name} is not named NNNN_name[.edition].sql")
            found.append(MigrationFile(package, int(match[1]), match[2], match[3], entry))
    owners: dict[int, MigrationFile] = {}
    for file in found:
        first = owners.setdefault(file.version, file)
        if first.package != file.package:
            raise MigrationError(f"version {file.version} is claimed by {first.label} and by {file.label}")
    return sorted(found, key=lambda f: (f.version, f.resource.name))


def available(variant: str, packages: Sequence[str]) -> list[Migration]:
    """The migrations of `packages` for an edition variant, in version order."""
    by_version: dict[int, Migration] = {}
    for file in migration_files(packages):
        if file.variant not in (None, variant):
            continue
        if file.version in by_version:
            raise MigrationError(f"two migration files claim version {file.version}")
        by_version[file.version] = Migration(
            file.version, file.name, file.resource.read_text(encoding="utf-8")
        )
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


async def pending(conn: Connection, features: StoreFeatures, packages: Sequence[str]) -> list[Migration]:
    done = await applied_versions(conn)
    todo = []
    for migration in available(features.migration_variant, packages):
        if migration.version in done:
            if done[migration.version] != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name} was changed after it was applied"
                )
            continue
        todo.append(migration)
    return todo


async def migrate(
    conn: Connection, packages: Sequence[str], on_apply: Callable[[Migration], None] | None = None
) -> list[Migration]:
    """Apply every pending migration of `packages`; return those applied (none when up to date)."""
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        features = await detect(conn)  # may create the extension: under the lock too
        todo = await pending(conn, features, packages)
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
