"""Webhook subscriptions and their delivery log: the reads and writes behind /v1/webhooks.

The caller owns the transaction; rows leave as plain dicts for the route's schemas.
"""

from __future__ import annotations

from typing import Any, Final

from api.webhook_signing import new_secret
from telemetry import named_queries
from telemetry.database import Connection

__all__ = [
    "EVENT_TYPES",
    "create_subscription",
    "disable_subscription",
    "get_subscription",
    "list_attempts",
    "list_deliveries",
    "list_subscriptions",
    "replay_delivery",
    "replay_failed",
]

EVENT_TYPES: Final = (
    "ticket.opened", "ticket.updated", "ticket.escalated", "ticket.resolved",
    "inspection.planned", "inspection.updated", "device.offline",
)  # fmt: skip

_Q: Final = named_queries.load("webhooks", package="api").require(
    "insert_subscription", "list_subscriptions", "get_subscription", "disable_subscription",
    "list_deliveries", "list_attempts", "replay_delivery", "replay_failed",
)  # fmt: skip


async def create_subscription(
    conn: Connection, *, url: str, event_types: list[str], description: str
) -> tuple[dict[str, Any], str]:
    """The new subscription and its signing secret (returned here only)."""
    secret = new_secret()
    row = await conn.fetchrow(_Q["insert_subscription"], url, secret, event_types, description)
    assert row is not None  # INSERT ... RETURNING
    return dict(row), secret


async def list_subscriptions(conn: Connection, *, after: int, limit: int) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(_Q["list_subscriptions"], after, limit)]


async def get_subscription(conn: Connection, subscription_id: int) -> dict[str, Any] | None:
    row = await conn.fetchrow(_Q["get_subscription"], subscription_id)
    return dict(row) if row is not None else None


async def disable_subscription(conn: Connection, subscription_id: int) -> int | None:
    """How many pending deliveries were stopped; None when there is no such subscription."""
    row = await conn.fetchrow(_Q["disable_subscription"], subscription_id)
    assert row is not None  # the counting SELECT always answers
    return int(row["stopped"]) if row["found"] else None


async def list_deliveries(
    conn: Connection, subscription_id: int, *, status: str | None, before: int | None, limit: int
) -> list[dict[str, Any]]:
    rows = await conn.fetch(_Q["list_deliveries"], subscription_id, status, before, limit)
    return [dict(r) for r in rows]


async def list_attempts(conn: Connection, delivery_id: int) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(_Q["list_attempts"], delivery_id)]


async def replay_delivery(conn: Connection, subscription_id: int, delivery_id: int) -> dict[str, Any] | None:
    row = await conn.fetchrow(_Q["replay_delivery"], subscription_id, delivery_id)
    return dict(row) if row is not None else None


async def replay_failed(conn: Connection, subscription_id: int) -> int:
    """How many failed deliveries are pending again."""
    status = await conn.execute(_Q["replay_failed"], subscription_id)
    return int(status.split()[-1])
