"""Customer alerts' delivery state (migrations 0003, 0009): what the alert worker claims and
records, what agents and customers read, acknowledgements, and the sink provider's record.

Rows leave as plain dicts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from telemetry import named_queries
from telemetry.database import Connection

__all__ = [
    "Claim",
    "acknowledge",
    "alert_owner",
    "claim_due",
    "close_unsent",
    "defer",
    "device_alerts",
    "list_sink_messages",
    "mark_sent",
    "record_sink_message",
    "retry_later",
    "withdraw_pending",
]

_Q: Final = named_queries.load("alerts", package="diagnostics.messages").require(
    "claim_due", "mark_sent", "retry_later", "defer", "close_unsent", "acknowledge", "alert_owner",
    "device_alerts", "insert_sink_message", "list_sink_messages", "withdraw_pending",
)  # fmt: skip


async def claim_due(conn: Connection, *, batch: int, lease_s: float) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(_Q["claim_due"], batch, lease_s)]


# The outcome functions take the claim (alert_id, attempt) that claim_due handed out: the outcome
# of a claim that expired and was claimed again is ignored.
Claim = tuple[int, int]


async def mark_sent(
    conn: Connection, claim: Claim, *, provider: str, channel: str, message_id: str | None
) -> None:
    await conn.execute(_Q["mark_sent"], *claim, provider, channel, message_id)


async def retry_later(conn: Connection, claim: Claim, *, at: datetime, error: str) -> None:
    await conn.execute(_Q["retry_later"], *claim, at, error)


async def defer(conn: Connection, claim: Claim, *, until: datetime, reason: str) -> None:
    await conn.execute(_Q["defer"], *claim, until, reason)


async def close_unsent(conn: Connection, claim: Claim, *, status: str, reason: str) -> None:
    """End an alert without sending it: 'failed' (gave up), 'skipped' (no consent or contact) or
    'withdrawn' (its case was resolved or its ticket ended: what it says is no longer true)."""
    await conn.execute(_Q["close_unsent"], *claim, status, reason)


async def withdraw_pending(
    conn: Connection, *, case_id: int | None, ticket_id: int | None, reason: str
) -> list[int]:
    """Withdraw the alerts still waiting about a case that was resolved or a ticket that ended (a
    guidance text held for quiet hours would otherwise reach the customer after the fault cleared);
    the ids withdrawn. Call in the transaction that resolves the case or ends the ticket."""
    rows = await conn.fetch(_Q["withdraw_pending"], case_id, ticket_id, reason)
    return [int(r["alert_id"]) for r in rows]


async def acknowledge(conn: Connection, alert_id: int, *, by: str) -> list[int]:
    """Acknowledge the alert and every alert of its fault case; the ids touched (empty: no alert)."""
    return [int(r["alert_id"]) for r in await conn.fetch(_Q["acknowledge"], alert_id, by)]


async def alert_owner(conn: Connection, alert_id: int) -> dict[str, Any] | None:
    """The alert's device and recipient (national form), to check who may acknowledge it."""
    row = await conn.fetchrow(_Q["alert_owner"], alert_id)
    return dict(row) if row is not None else None


async def device_alerts(
    conn: Connection, device_id: str, *, phone_national: str | None, limit: int
) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(_Q["device_alerts"], device_id, phone_national, limit)]


async def record_sink_message(
    conn: Connection,
    *,
    alert_id: int | None,
    channel: str,
    recipient: str,
    template_code: str | None,
    body: str,
) -> int:
    return int(
        await conn.fetchval(_Q["insert_sink_message"], alert_id, channel, recipient, template_code, body)
    )


async def list_sink_messages(conn: Connection, *, before: int | None, limit: int) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(_Q["list_sink_messages"], before, limit)]
