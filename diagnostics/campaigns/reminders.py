"""Inspection reminders: each planned inspection reaches its customer, and the call center hears
of every customer who did not answer.

A wave (`send_reminders`, wave 0) takes the proposals whose day is near and writes one reminder per
contact into the customer-alert outbox, in the customer's language; the alert worker sends them.
The follow-up (wave 1) reminds once more those who did not answer, and each becomes a call-center
work item (`inspection.updated`, action `follow_up`): call the customer.

Which message: a boiler chosen for a fault or a predicted fault gets a notice about its boiler
('inspection'); one chosen for age, use or time gets an offer ('inspection_offer'), which is
advertising: SMS only, and the alert worker sends it only to contacts who consented to marketing.
Neither is sent at night: `not_before` is set past 21:00–08:00 here, and the worker checks again.

Idempotent: the inspections are taken with SKIP LOCKED and counted as reminded in the same
transaction, and the outbox holds one reminder per inspection, contact and wave.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from diagnostics.campaigns.plan import CampaignConfig, record_changes
from diagnostics.campaigns.store import campaign_of_season
from diagnostics.messages.quiet_hours import NIGHT_END, NIGHT_START, quiet_until
from diagnostics.messages.texts import PointName, compose_inspection
from telemetry import named_queries
from telemetry.database import Connection
from telemetry.korean_time import KST

__all__ = ["FAULT_REASONS", "ReminderReport", "reminder_kind", "send_reminders"]

_Q: Final = named_queries.load("campaigns", package="diagnostics.campaigns").require(
    "due_reminders", "reminder_contacts", "insert_reminders", "mark_reminded"
)
FAULT_REASONS: Final = frozenset({"faults", "predictions"})
"""Risk parts that are findings on the boiler itself: a reminder for them is a notice, not an offer."""
_CODE: Final = "B/S"
"""What an inspection reminder carries in the alert's code column (it answers no error code)."""
_ALERT_COLUMNS: Final = ("device_ids", "contact_ids", "phones", "channels", "kinds", "codes", "inspection_ids", "waves",
                         "messages_ko", "messages_en", "not_before")  # fmt: skip
"""The arrays `insert_reminders` takes, one element per alert, in the order an alert's values are listed."""


@dataclass(frozen=True, slots=True)
class ReminderReport:
    inspections: int
    alerts: int
    offers: int
    """Alerts that are advertising (sent only with marketing consent)."""


def reminder_kind(reasons: dict[str, float]) -> str:
    """'inspection' when the boiler was chosen for something found on it, else 'inspection_offer'."""
    return "inspection" if FAULT_REASONS & reasons.keys() else "inspection_offer"


async def send_reminders(
    conn: Connection,
    season: int,
    *,
    now: datetime,
    wave: int,
    config: CampaignConfig,
    actor: str = "reminders",
) -> ReminderReport:
    """One run of reminder wave `wave` (0: the reminder, 1: the follow-up) for `season`, in a transaction."""
    if wave not in (0, 1):
        raise ValueError("an inspection has a reminder (wave 0) and one follow-up (wave 1)")
    today = now.astimezone(KST).date()
    async with conn.transaction():
        campaign = await campaign_of_season(conn, season)
        if campaign is None:
            return ReminderReport(0, 0, 0)
        sql, args = _Q.bind("due_reminders", {
            "campaign_id": campaign.campaign_id, "wave": wave, "day_by": today + timedelta(days=config.remind_ahead_days),
            "batch": config.reminder_batch, "reminded_by": now - config.follow_up_after,
            "day_from": today + timedelta(days=1),
        })  # fmt: skip
        due = await conn.fetch(sql, *args)
        if not due:
            return ReminderReport(0, 0, 0)
        contacts: dict[str, list[dict[str, object]]] = {}
        for c in await conn.fetch(_Q["reminder_contacts"], [r["device_id"] for r in due]):
            contacts.setdefault(c["device_id"], []).append(dict(c))
        send_at = quiet_until(now, NIGHT_START, NIGHT_END) or now
        columns: dict[str, list[object]] = {name: [] for name in _ALERT_COLUMNS}
        offers = 0
        for row in due:
            kind = reminder_kind(json.loads(row["reasons"]))
            for contact in contacts.get(row["device_id"], []):
                point = PointName(row["point_name"], row["point_name_en"])
                message = compose_inspection(kind, day=row["day"], service_point=point,
                                             owner_name=str(contact["name"]))  # fmt: skip
                channel = "sms" if kind == "inspection_offer" else contact["preferred_channel"]
                values = (row["device_id"], contact["contact_id"], contact["phone"], channel, kind, _CODE,
                          row["inspection_id"], wave, message.ko, message.en, send_at)  # fmt: skip
                for column, value in zip(columns.values(), values, strict=True):
                    column.append(value)
                offers += kind == "inspection_offer"
        alerts = len(columns["device_ids"])
        if alerts:
            sql, args = _Q.bind("insert_reminders", columns)
            await conn.execute(sql, *args)
        marked = await conn.fetch(_Q["mark_reminded"], [r["inspection_id"] for r in due], wave, now)
        await record_changes(
            conn, [r["inspection_id"] for r in marked], "reminded" if wave == 0 else "follow_up", actor
        )
    return ReminderReport(len(due), alerts, offers)
