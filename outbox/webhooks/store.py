"""Webhook subscriptions, deliveries and their log (migration 0005): the reads and writes behind
/v1/webhooks and the delivery worker. Sending, signing and the address guard are the API's.

Rows leave as frozen dataclasses: a subscription, a delivery, an attempt, and a due delivery with
what sending it needs (the subscription's address and secret, the event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from telemetry import named_queries
from telemetry.database import Connection

__all__ = [
    "Attempt",
    "Delivery",
    "DueDelivery",
    "Subscription",
    "claim_due",
    "create_subscription",
    "disable_subscription",
    "get_subscription",
    "list_attempts",
    "list_deliveries",
    "list_subscriptions",
    "record_outcome",
    "replay_delivery",
    "replay_failed",
]

_Q: Final = named_queries.load("webhooks", package="outbox.webhooks").require(
    "insert_subscription", "list_subscriptions", "get_subscription", "disable_subscription",
    "list_deliveries", "list_attempts", "replay_delivery", "replay_failed",
    "claim_due", "record_attempt", "mark_delivered", "mark_failed",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Subscription:
    """A call center's subscription, without its secret (reads never show it)."""

    subscription_id: int
    url: str
    event_types: list[str]
    description: str
    active: bool
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event's delivery to one subscription, as its log shows it."""

    delivery_id: int
    event_id: int
    subject: str
    event_type: str
    safety: bool
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class Attempt:
    attempted_at: datetime
    duration_ms: float
    status_code: int | None
    error: str | None
    response_excerpt: str | None


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A delivery claimed for sending: counted as an attempt and leased; with the subscription's
    address and signing secret and the event it carries."""

    delivery_id: int
    subscription_id: int
    event_id: int
    subject: str
    event_type: str
    safety: bool
    attempts: int
    created_at: datetime
    url: str
    secret: str
    payload_json: str
    event_time: datetime


async def create_subscription(
    conn: Connection, *, url: str, secret: str, event_types: list[str], description: str
) -> Subscription:
    """The new subscription (without its secret: reads never show it)."""
    row = await conn.fetchrow(_Q["insert_subscription"], url, secret, event_types, description)
    assert row is not None  # INSERT ... RETURNING
    return Subscription(**dict(row))


async def list_subscriptions(conn: Connection, *, after: int, limit: int) -> list[Subscription]:
    return [Subscription(**dict(r)) for r in await conn.fetch(_Q["list_subscriptions"], after, limit)]


async def get_subscription(conn: Connection, subscription_id: int) -> Subscription | None:
    row = await conn.fetchrow(_Q["get_subscription"], subscription_id)
    return Subscription(**dict(row)) if row is not None else None


async def disable_subscription(conn: Connection, subscription_id: int) -> int | None:
    """How many pending deliveries were stopped; None when there is no such subscription."""
    row = await conn.fetchrow(_Q["disable_subscription"], subscription_id)
    assert row is not None  # the counting SELECT always answers
    return int(row["stopped"]) if row["found"] else None


async def list_deliveries(
    conn: Connection, subscription_id: int, *, status: str | None, before: int | None, limit: int
) -> list[Delivery]:
    rows = await conn.fetch(_Q["list_deliveries"], subscription_id, status, before, limit)
    return [Delivery(**dict(r)) for r in rows]


async def list_attempts(conn: Connection, delivery_id: int) -> list[Attempt]:
    return [Attempt(**dict(r)) for r in await conn.fetch(_Q["list_attempts"], delivery_id)]


async def replay_delivery(conn: Connection, subscription_id: int, delivery_id: int) -> Delivery | None:
    row = await conn.fetchrow(_Q["replay_delivery"], subscription_id, delivery_id)
    return Delivery(**dict(row)) if row is not None else None


async def replay_failed(conn: Connection, subscription_id: int) -> int:
    """How many failed deliveries are pending again."""
    status = await conn.execute(_Q["replay_failed"], subscription_id)
    return int(status.split()[-1])


async def claim_due(conn: Connection, *, batch: int, lease_s: float) -> list[DueDelivery]:
    """Up to `batch` due deliveries (the oldest pending one per subject), each counted as an attempt
    and leased for `lease_s`; with the subscription's url and secret and the event."""
    return [DueDelivery(**dict(r)) for r in await conn.fetch(_Q["claim_due"], batch, lease_s)]


async def record_outcome(
    conn: Connection,
    delivery: DueDelivery,
    *,
    attempted_at: datetime,
    duration_ms: float,
    status_code: int | None,
    error: str | None,
    excerpt: str | None,
    next_attempt: datetime | None,
) -> None:
    """Log one attempt and settle the delivery: delivered on a 2xx, else due again at `next_attempt`
    (None: given up). A delivery another worker took meanwhile is left to it. Call in a transaction."""
    await conn.execute(_Q["record_attempt"], delivery.delivery_id, attempted_at, duration_ms, status_code,
                       error, excerpt)  # fmt: skip
    if status_code is not None and 200 <= status_code < 300:
        await conn.execute(_Q["mark_delivered"], delivery.delivery_id, delivery.attempts, status_code)
    else:
        await conn.execute(_Q["mark_failed"], delivery.delivery_id, delivery.attempts, status_code,
                           next_attempt, error or f"HTTP {status_code}")  # fmt: skip
