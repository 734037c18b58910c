"""Parent peace-of-mind: a safety alert that nobody acknowledged in time goes further.

The first wave of a safety alert reaches the contacts of escalation rank 0 (the elderly owner and
the family member who registered them). When none of them acknowledges it within the configured
time, the contacts of the next rank get an escalation message, and the ticket is escalated to the
call center (priority up, `ticket.escalated` with reason `safety_alert_unacknowledged`). Each case
escalates once, however many workers sweep.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from diagnostics.catalog import Catalog, CatalogEntry
from diagnostics.messages import store as alert_store
from diagnostics.messages.store import NewAlert, UnacknowledgedAlert
from diagnostics.messages.texts import compose
from telemetry import named_queries
from telemetry.database import Connection

__all__ = ["escalate_unacknowledged", "escalation_note"]

_Q: Final = named_queries.load("engine", package="diagnostics.faults").require(
    "escalate_ticket_unacknowledged", "next_contacts"
)


@dataclass(frozen=True, slots=True)
class _NextContact:
    """A contact of the next escalation rank, with the owner's name for the message."""

    contact_id: int
    phone: str
    preferred_channel: str
    owner_name: str


async def escalate_unacknowledged(conn: Connection, catalog: Catalog, *, after: timedelta, batch: int) -> int:
    """Escalate the overdue cases (call inside a transaction); how many were escalated."""
    escalated = 0
    for alert in await alert_store.unacknowledged_safety_alerts(conn, after=after, batch=batch):
        if not await alert_store.mark_case_escalated(conn, alert):
            continue  # an earlier alert of the same case in this batch escalated it already
        escalated += 1
        entry = catalog.get(alert.code)
        alerted = await _alert_next_contacts(conn, alert, entry) if entry is not None else 0
        if alert.ticket_id is not None:
            minutes = int(after.total_seconds() // 60)
            details = {"code": alert.code, "after_minutes": minutes, "next_contacts_alerted": alerted}
            await conn.execute(_Q["escalate_ticket_unacknowledged"], alert.ticket_id,
                               escalation_note(alert.code, minutes, alerted), json.dumps(details))  # fmt: skip
    return escalated


async def _alert_next_contacts(conn: Connection, alert: UnacknowledgedAlert, entry: CatalogEntry) -> int:
    """Write the escalation message to each contact of the next rank; how many there were."""
    contacts = [_NextContact(**dict(r)) for r in await conn.fetch(_Q["next_contacts"], alert.device_id)]
    escalations = []
    for contact in contacts:
        message = compose(entry, "escalation", owner_name=contact.owner_name or None)
        escalations.append(NewAlert(alert.device_id, contact.contact_id, contact.phone, contact.preferred_channel,
                                    "escalation", alert.code, alert.case_id, alert.ticket_id, message.ko,
                                    message.en, wave=1))  # fmt: skip
    await alert_store.queue_alerts(conn, escalations)
    return len(contacts)


def escalation_note(code: str, minutes: int, alerted: int) -> str:
    """The audit entry says what happened: who was alerted next, or that nobody was left to alert and
    the call center has it (the escalated ticket)."""
    who = (
        f"{alerted} contact(s) of the next rank alerted, and the call center"
        if alerted
        else "no contact at the next rank: handed to the call center"
    )
    return f"safety alert {code} not acknowledged within {minutes} min: {who}"
