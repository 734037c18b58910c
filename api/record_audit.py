"""Writes the access log of customer records: every route that shows or changes a customer's
personal data (names, phones, addresses, alerts) says so here, in the request's transaction."""

from __future__ import annotations

from collections.abc import Sequence

from api import customer_records
from api.access import Principal
from telemetry.database import Connection

__all__ = ["record"]


async def record(
    conn: Connection, caller: Principal, action: str, subject: str,
    device_ids: Sequence[str | None] = (None,), customer: str | None = None,
) -> None:  # fmt: skip
    """Log that `caller` did `action` (view, change, export, erase) on `subject` for these devices."""
    await customer_records.log_access(
        conn, key_id=caller.key_id, actor=caller.label, action=action, subject=subject,
        device_ids=device_ids, customer=customer,
    )  # fmt: skip
