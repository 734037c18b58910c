"""The customer_alerts store (migrations 0003, 0009, 0014): the alerts diagnostics writes, what the
alert worker claims and records of their delivery, what agents and customers read,
acknowledgements, escalation marks and erasure.

diagnostics/messages owns the table: everything else writes it through these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final

from telemetry import named_queries
from telemetry.database import Connection

__all__ = [
    "AlertOwner",
    "Claim",
    "ClaimedAlert",
    "ContactPreferences",
    "CustomerAlert",
    "GuidanceProgress",
    "NewAlert",
    "StoredAlert",
    "UnacknowledgedAlert",
    "acknowledge",
    "alert_owner",
    "claim_due",
    "close_unsent",
    "defer",
    "device_alerts",
    "erase_recipient",
    "guidance_progress",
    "mark_case_escalated",
    "mark_sent",
    "queue_alerts",
    "retry_later",
    "unacknowledged_safety_alerts",
    "withdraw_pending",
]

_Q: Final = named_queries.load("alerts", package="diagnostics.messages").require(
    "acknowledge", "alert_owner", "claim_due", "close_unsent", "defer", "device_alerts", "erase_recipient",
    "guidance_progress", "insert_alert", "mark_case_escalated", "mark_sent", "retry_later",
    "unacknowledged_safety_alerts", "withdraw_pending",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class NewAlert:
    """An alert to one contact, written in the transaction that decided it; the alert worker sends it."""

    device_id: str
    contact_id: int
    phone: str
    channel: str
    kind: str
    """guidance, safety, emergency or escalation."""
    code: str
    case_id: int | None
    """None for a message about no case (freeze preparation)."""
    ticket_id: int | None
    message_ko: str
    message_en: str
    wave: int = 0
    """0: the first alert; 1: the escalation to the next contacts."""
    incident_id: int | None = None
    """The area incident the message is about (its broadcast), if any."""


async def queue_alerts(conn: Connection, alerts: Sequence[NewAlert]) -> None:
    rows = [
        _Q.bind("insert_alert", {
            "device_id": a.device_id, "contact_id": a.contact_id, "phone": a.phone, "channel": a.channel,
            "kind": a.kind, "code": a.code, "case_id": a.case_id, "ticket_id": a.ticket_id,
            "message_ko": a.message_ko, "message_en": a.message_en, "wave": a.wave, "incident_id": a.incident_id,
        })[1]
        for a in alerts
    ]  # fmt: skip
    if rows:
        await conn.executemany(_Q["insert_alert"], rows)


@dataclass(frozen=True, slots=True)
class ContactPreferences:
    """What the alert's contact asked for (found by device and number: re-registering a device
    replaces its contact rows, and the alert still belongs to the person with that number)."""

    language: str
    consent_alerts: bool
    consent_marketing: bool
    quiet_start: time
    quiet_end: time


_PREFERENCES: Final = tuple(ContactPreferences.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """What every read of an alert carries."""

    alert_id: int
    device_id: str
    contact_id: int | None
    phone: str
    channel: str
    """The contact's preferred channel: sms or kakao."""
    kind: str
    code: str
    wave: int
    attempts: int
    created_at: datetime
    message_ko: str
    message_en: str


@dataclass(frozen=True, slots=True)
class ClaimedAlert(StoredAlert):
    """A due alert the worker claimed; `attempts` counts this one (the claim's fence)."""

    case_id: int | None
    ticket_id: int | None
    stale_reason: str | None
    """Why what it says is no longer true (its case was resolved, its ticket ended), or None."""
    contact: ContactPreferences | None
    """None when the contact was removed since the alert was written."""

    @property
    def claim(self) -> Claim:
        return (self.alert_id, self.attempts)


async def claim_due(conn: Connection, *, batch: int, lease_s: float) -> list[ClaimedAlert]:
    claimed = []
    for row in await conn.fetch(_Q["claim_due"], batch, lease_s):
        fields = dict(row)
        preferences = {name: fields.pop(name) for name in _PREFERENCES}
        contact = ContactPreferences(**preferences) if preferences["language"] is not None else None
        claimed.append(ClaimedAlert(**fields, contact=contact))
    return claimed


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


@dataclass(frozen=True, slots=True)
class GuidanceProgress:
    """How far a case's guidance got, by the database's clock."""

    first_sent_at: datetime | None
    """When its first message went out, to anyone."""
    pending_until: datetime | None
    """Until when its messages still waiting (quiet hours, provider retries) are due."""
    now: datetime


async def guidance_progress(conn: Connection, case_id: int) -> GuidanceProgress:
    row = await conn.fetchrow(_Q["guidance_progress"], case_id)
    assert row is not None  # an aggregate always answers one row
    return GuidanceProgress(**dict(row))


@dataclass(frozen=True, slots=True)
class UnacknowledgedAlert:
    """The first unacknowledged safety alert of a case."""

    alert_id: int
    case_id: int
    device_id: str
    ticket_id: int | None
    code: str


async def unacknowledged_safety_alerts(
    conn: Connection, *, after: timedelta, batch: int
) -> list[UnacknowledgedAlert]:
    """First-wave safety alerts nobody acknowledged within `after`, one per case, each locked for
    this transaction (other workers skip them)."""
    rows = await conn.fetch(_Q["unacknowledged_safety_alerts"], after, batch)
    return [UnacknowledgedAlert(**dict(r)) for r in rows]


async def mark_case_escalated(conn: Connection, alert: UnacknowledgedAlert) -> bool:
    """Mark the case's first-wave alerts escalated; False when that was done already (by another
    worker, or for an earlier alert of the case in the same batch)."""
    return bool(await conn.fetch(_Q["mark_case_escalated"], alert.case_id, alert.alert_id))


async def acknowledge(conn: Connection, alert_id: int, *, by: str) -> list[int]:
    """Acknowledge the alert and every alert of its fault case; the ids touched (empty: no alert)."""
    return [int(r["alert_id"]) for r in await conn.fetch(_Q["acknowledge"], alert_id, by)]


@dataclass(frozen=True, slots=True)
class AlertOwner:
    device_id: str
    phone_national: str | None
    """The recipient's number in national form (None once erased)."""


async def alert_owner(conn: Connection, alert_id: int) -> AlertOwner | None:
    """The alert's device and recipient, to check who may acknowledge it."""
    row = await conn.fetchrow(_Q["alert_owner"], alert_id)
    return AlertOwner(**dict(row)) if row is not None else None


@dataclass(frozen=True, slots=True)
class CustomerAlert(StoredAlert):
    """An alert as agents and customers read it, with its delivery so far."""

    status: str
    provider: str | None
    channel_used: str | None
    sent_at: datetime | None
    last_error: str | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    escalated_at: datetime | None


async def device_alerts(
    conn: Connection, device_id: str, *, phone_national: str | None, limit: int
) -> list[CustomerAlert]:
    rows = await conn.fetch(_Q["device_alerts"], device_id, phone_national, limit)
    return [CustomerAlert(**dict(r)) for r in rows]


async def erase_recipient(conn: Connection, phone_national: str) -> int:
    """Data protection: the alerts sent to this number lose the number and their words (they stay,
    counted, as the boiler's history); how many."""
    return int(await conn.fetchval(_Q["erase_recipient"], phone_national))
