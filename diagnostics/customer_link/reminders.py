"""TOUCH: the day before a booked visit (from 18:00 KST) and in the hour before its window, the case's
first contacts get a message naming the technician and the service point, with the link where the
technician's photo is and where "I won't be home" moves the visit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from diagnostics.catalog import load_catalog
from diagnostics.customer_link import store
from diagnostics.faults import store as fault_store
from diagnostics.messages import store as alert_store
from diagnostics.messages.store import NewAlert
from diagnostics.messages.texts import PointName, compose_visit
from telemetry.database import Connection
from telemetry.korean_time import KST

__all__ = ["RemindersSent", "send_visit_reminders"]


@dataclass(frozen=True, slots=True)
class RemindersSent:
    visits: int
    messages: int


async def send_visit_reminders(conn: Connection, now: datetime, *, batch: int = 200) -> RemindersSent:
    """Queue the reminders that are due, each visit's at most once per kind (day before, hour before)."""
    visits = messages = 0
    async with conn.transaction():
        for due in await store.due_visit_reminders(
            conn, now.astimezone(KST).replace(tzinfo=None), batch=batch
        ):
            booking = await store.booking_of_ticket(conn, due.ticket_id)
            if booking is None:
                continue
            technician = (
                PointName(booking.technician_name, booking.technician_name_en)
                if booking.technician_name
                else None
            )
            message = compose_visit(
                "visit_reminder", load_catalog().get(due.code), due.code, day=due.day, slot=due.slot,
                service_point=PointName(booking.point_name, booking.point_name_en), technician=technician,
            )  # fmt: skip
            contacts = await fault_store.first_contacts(conn, due.device_id)
            await alert_store.queue_alerts(conn, [
                NewAlert(due.device_id, c.contact_id, c.phone, c.preferred_channel, "visit_reminder", due.code,
                         due.case_id, due.ticket_id, message.ko, message.en)
                for c in contacts
            ])  # fmt: skip
            await store.mark_reminded(conn, due.booking_id, due.which)
            visits += 1
            messages += len(contacts)
    return RemindersSent(visits, messages)
