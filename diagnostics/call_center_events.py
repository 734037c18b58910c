"""The call center's events: table `outbox_events` (migration 0003), a transactional outbox owned by
diagnostics, its producer. Each event is written in the transaction of the change it reports, so the
call center hears of every committed change and of nothing rolled back; a trigger on the table
(migration 0005) fans each event out to the webhook subscriptions, and outbox/webhooks delivers
them, in order per subject.

The events, by subject:

- `ticket/{id}`: ticket.opened, ticket.updated, ticket.escalated (with `reason`) and
  ticket.resolved. Written by the SQL that changes the ticket, in the same statement: the fault
  engine's decisions and sweeps (diagnostics/faults) and agents' moves (diagnostics/tickets). The
  payload is `ticket_event_payload(tickets)` (migrations 0003, 0007): the one definition of the
  call center's view of a ticket.
- `inspection/{id}`: inspection.planned and inspection.updated (with `action`), written by
  `inspections_changed()` (migration 0014), which diagnostics/campaigns calls for every change.
- `device/{id}`: device.offline, once per offline episode (`publish_device_offline`).
- `command/{id}`: command.requested, command.succeeded, command.failed, command.expired,
  command.rejected and command.cancelled, written by `command_changed()` (migration 0023) whenever a
  command enters one of those states (diagnostics/commands).
- `ticket/{id}` also carries ticket.scheduled (the customer booked or moved a visit through the case's
  link: the ticket's payload with `appointment`) and survey.flagged (a happy call with a low score or
  "not solved": the survey and the follow-up ticket), written by diagnostics/customer_link.
- `incident/{id}`: incident.opened and incident.resolved, an area incident with its counts
  (diagnostics/cold_wave).

Writers in SQL insert into the table in the statement that makes the change; a writer in Python
calls `publish` in its transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Final

from telemetry import named_queries
from telemetry.database import Connection
from telemetry.json_values import JsonValue
from telemetry.offline_devices import GoneOffline

__all__ = ["EventType", "publish", "publish_device_offline"]

_Q: Final = named_queries.load("call_center_events", package="diagnostics").require(
    "publish", "publish_device_offline"
)


class EventType(StrEnum):
    TICKET_OPENED = "ticket.opened"
    TICKET_UPDATED = "ticket.updated"
    TICKET_ESCALATED = "ticket.escalated"
    TICKET_RESOLVED = "ticket.resolved"
    INSPECTION_PLANNED = "inspection.planned"
    INSPECTION_UPDATED = "inspection.updated"
    DEVICE_OFFLINE = "device.offline"
    COMMAND_REQUESTED = "command.requested"
    COMMAND_SUCCEEDED = "command.succeeded"
    COMMAND_FAILED = "command.failed"
    COMMAND_EXPIRED = "command.expired"
    COMMAND_REJECTED = "command.rejected"
    COMMAND_CANCELLED = "command.cancelled"
    TICKET_SCHEDULED = "ticket.scheduled"
    SURVEY_FLAGGED = "survey.flagged"
    INCIDENT_OPENED = "incident.opened"
    INCIDENT_RESOLVED = "incident.resolved"


async def publish(
    conn: Connection, event_type: EventType, subject: str, payload: Mapping[str, JsonValue]
) -> None:
    """Write one event in the caller's transaction."""
    await conn.execute(_Q["publish"], event_type.value, subject, json.dumps(payload, ensure_ascii=False))


async def publish_device_offline(conn: Connection, devices: Sequence[GoneOffline]) -> int:
    """A device.offline event for each device whose offline episode was just marked (payload:
    device_id, model, region, last_seen, disconnected, detected_at); how many."""
    if not devices:
        return 0
    sql, args = _Q.bind("publish_device_offline", {
        "device_ids": [d.device_id for d in devices], "models": [d.model for d in devices],
        "regions": [d.region for d in devices], "last_seen": [d.last_seen for d in devices],
        "disconnected": [d.disconnected for d in devices], "detected_at": [d.detected_at for d in devices],
    })  # fmt: skip
    await conn.execute(sql, *args)
    return len(devices)
