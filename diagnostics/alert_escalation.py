"""Parent peace-of-mind: a safety alert that nobody acknowledged in time goes further.

The first wave of a safety alert reaches the contacts of escalation rank 0 (the elderly owner and
the family member who registered them). When none of them acknowledges it within the configured
time, the contacts of the next rank get an escalation message, and the ticket is escalated to the
call center (priority up, `ticket.escalated` with reason `safety_alert_unacknowledged`). Each case
escalates once, however many workers sweep.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from diagnostics.alert_messages import compose
from diagnostics.catalog import Catalog
from telemetry import named_queries
from telemetry.database import Connection

__all__ = ["escalate_unacknowledged"]

_Q: Final = named_queries.load("engine", package="diagnostics")


async def escalate_unacknowledged(conn: Connection, catalog: Catalog, *, after: timedelta, batch: int) -> int:
    """Escalate the overdue cases (call inside a transaction); how many were escalated."""
    escalated = 0
    for alert in await conn.fetch(_Q["unacknowledged_safety_alerts"], after, batch):
        if not await conn.fetch(_Q["mark_case_escalated"], alert["case_id"], alert["alert_id"]):
            continue  # an earlier alert of the same case in this batch escalated it already
        escalated += 1
        minutes = int(after.total_seconds() // 60)
        entry = catalog.get(alert["code"])
        for contact in await conn.fetch(_Q["next_contacts"], alert["device_id"]):
            if entry is None:
                break
            message = compose(entry, "escalation", owner_name=contact["owner_name"] or None)
            await conn.execute(
                _Q["insert_escalation_alert"], alert["device_id"], contact["contact_id"], contact["phone"],
                contact["preferred_channel"], alert["code"], alert["case_id"], alert["ticket_id"],
                message.ko, message.en,
            )  # fmt: skip
        if alert["ticket_id"] is not None:
            note = (
                f"safety alert {alert['code']} not acknowledged within {minutes} min: next contacts alerted"
            )
            await conn.execute(_Q["escalate_ticket_unacknowledged"], alert["ticket_id"], note)
    return escalated
