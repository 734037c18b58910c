"""The schema's owners: the feature packages whose `migrations/` folders make up the database.

The runner (`telemetry.migrations`) knows no package above its own; the composition root names them
here, and every command that migrates (`ondol migrate`, `ondol up`, `ondol eval`) goes through
`migrate_schema`. Versions are unique across all of them and applied in one order. The history
0001…0019 stays in `telemetry/migrations/`; a new migration goes to the package that owns its tables.
A test checks that every package with a `migrations/` folder is listed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from diagnostics.answers.store import seed_answers
from telemetry.database import Connection
from telemetry.migrations import Migration, migrate

__all__ = ["SCHEMA_PACKAGES", "migrate_schema"]

SCHEMA_PACKAGES: Final[tuple[str, ...]] = (
    "telemetry",  # 0001…0019: the history, whoever owns the tables
    "diagnostics.tickets",
    "outbox.webhooks",
    "diagnostics.commands",
    "diagnostics.customer_link",
    "diagnostics.cold_wave",
    "diagnostics.answers",
    "diagnostics.reports",
)


async def migrate_schema(
    conn: Connection, on_apply: Callable[[Migration], None] | None = None
) -> list[Migration]:
    """Apply every pending migration of every schema package, then the seed data a new schema needs
    (the standard answers: entries staff edited are never overwritten); the migrations applied."""
    applied = await migrate(conn, SCHEMA_PACKAGES, on_apply)
    await seed_answers(conn)
    return applied
