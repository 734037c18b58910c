"""A customer's record as data protection sees it: who viewed or changed it (the access log),
everything held about a person (export), and erasing the person on request.

A customer is known by their phone number (national form), as the call center knows them. The
log keeps only a hash of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Final

from diagnostics.customer_link import store as link_store
from diagnostics.messages import store as alert_store
from outbox.alerts import sink_store
from telemetry import named_queries
from telemetry.database import Connection

__all__ = ["customer_ref", "erase_customer", "export_customer", "list_access", "log_access"]

_ERASURE: Final = ("erase_keys", "erase_owner_fields")
"""The erasure's own statements; the alerts' stores erase what they hold through their functions."""
_Q: Final = named_queries.load("customer_records", package="api").require(
    "customer_alerts", "customer_devices", "customer_tickets", "erase_contacts", "list_access", "log_access",
)  # fmt: skip


def customer_ref(phone_national: str) -> str:
    """How the access log names a customer: the SHA-256 of their national phone number."""
    return hashlib.sha256(phone_national.encode()).hexdigest()


async def log_access(
    conn: Connection, *, key_id: str, actor: str, action: str, subject: str,
    device_ids: Sequence[str | None] = (None,), customer: str | None = None,
) -> None:  # fmt: skip
    """One log row per device touched (or one with no device)."""
    ref = customer_ref(customer) if customer is not None else None
    await conn.execute(_Q["log_access"], key_id, actor, action, subject, list(device_ids) or [None], ref)


async def list_access(
    conn: Connection, *, device_id: str | None, customer: str | None, before: int | None, limit: int
) -> list[dict[str, Any]]:
    ref = customer_ref(customer) if customer is not None else None
    return [dict(r) for r in await conn.fetch(_Q["list_access"], device_id, ref, before, limit)]


async def export_customer(conn: Connection, phone_national: str) -> dict[str, Any]:
    """Everything held about the person with this number: their devices and contact entries, those
    devices' tickets, the alerts sent to them and what they answered through the links in them."""
    devices = [dict(r) for r in await conn.fetch(_Q["customer_devices"], phone_national)]
    ids = [d["device_id"] for d in devices]
    tickets = [dict(r) for r in await conn.fetch(_Q["customer_tickets"], ids)] if ids else []
    alerts = [dict(r) for r in await conn.fetch(_Q["customer_alerts"], phone_national)]
    answers = await link_store.recipient_answers(conn, phone_national)
    return {
        "phone": phone_national,
        "devices": devices,
        "tickets": tickets,
        "alerts": alerts,
        "answers": answers,
    }


async def erase_customer(conn: Connection, phone_national: str) -> dict[str, Any]:
    """Erase the person (call inside a transaction): rows changed per step, and the devices they
    were a contact of."""
    changed: dict[str, Any] = {
        "alerts": await alert_store.erase_recipient(conn, phone_national),
        "sink_messages": await sink_store.erase_recipient(conn, phone_national),
        "customer_links": await link_store.erase_recipient(conn, phone_national),
    }
    for step in _ERASURE:
        changed[step.removeprefix("erase_")] = _count(await conn.execute(_Q[step], phone_national))
    rows = await conn.fetch(_Q["erase_contacts"], phone_national)
    changed["contacts"] = len(rows)
    changed["devices"] = sorted({str(r["device_id"]) for r in rows})
    return changed


def _count(status: str) -> int:
    """Rows affected, from a command status such as 'UPDATE 3' or 'DELETE 0'."""
    return int(status.rsplit(" ", 1)[-1])
