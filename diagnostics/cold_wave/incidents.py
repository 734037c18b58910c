"""Area incidents: many boilers of one region failing in the same fault family within minutes (a
city-gas supply cut, a water-mains cut, a wave of frozen condensate pipes) are one event, not
thousands of tickets.

- **Opening.** When a raise would open a case and at least `min_devices` boilers of the device's
  region opened a case of the same family within `window` (this one included), one incident opens:
  those cases are held by it (their waiting guidance withdrawn, their new repair tickets cancelled),
  the call center gets one `incident.opened`, and each household one broadcast message.
- **While open**, a further boiler of the region failing in that family joins it instead of opening
  a case of its own: one broadcast message, no guidance, no ticket.
- **Never swallowed:** a safety-critical code keeps its own ticket and alert, incident or not (it
  never reaches this module), and a case whose ticket is already urgent or past "contacted" is not
  taken over.
- **Resolving** (its owner from the console or the API, or the sweep once no boiler joined or failed
  again for `quiet` and most have cleared): each held boiler whose fault cleared has its case closed;
  each one still failing gets its own repair ticket (rule `incident.fault_persists`) and the owner is
  asked to book. `incident.resolved` carries the counts; the households are told it is over.

Every step is written in the transaction of the event that caused it, with a timeline entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from diagnostics.call_center_events import EventType, publish
from diagnostics.catalog import load_catalog
from diagnostics.faults import store as fault_store
from diagnostics.faults.store import NewCase
from diagnostics.messages import store as alert_store
from diagnostics.messages.store import NewAlert
from diagnostics.messages.texts import compose_incident
from diagnostics.tickets import lifecycle
from diagnostics.tickets.lifecycle import Status
from diagnostics.tickets.store import safety_critical_codes
from telemetry import named_queries
from telemetry.database import Connection
from telemetry.json_values import JsonObject
from telemetry.regions import region_name

if TYPE_CHECKING:
    from diagnostics.faults.engine import FaultEngine

__all__ = [
    "Incident", "IncidentConfig", "IncidentNotFoundError", "TimelineEntry", "case_cleared", "case_failed_again",
    "get_incident", "hold_if_area_incident", "list_incidents", "resolve", "resolve_quiet_incidents",
    "set_owner", "timeline",
]  # fmt: skip

_Q: Final = named_queries.load("incidents", package="diagnostics.cold_wave").require(
    "device_cleared", "device_failed_again", "device_region",
    "held_devices", "incident", "incident_of_case", "incident_timeline", "join_device",
    "list_incidents", "lock_incident", "lock_open_incident", "open_incident", "quiet_incidents",
    "record_ticket", "recent_cases", "resolve", "set_owner", "timeline",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class IncidentConfig:
    min_devices: int = 20
    """Boilers of one region failing in one family within `window` that make an incident."""
    window: timedelta = timedelta(minutes=10)
    quiet: timedelta = timedelta(minutes=30)
    """An incident no boiler joined or failed again for this long, with `cleared_share` of its boilers
    cleared, is resolved by the sweep."""
    cleared_share: float = 0.9
    families: frozenset[str] = frozenset({
        "gas_supply", "water_pressure", "water_flow", "electrical_pcb", "communication", "freeze", "condensate",
        "ignition_flame",
    })  # fmt: skip
    """Fault families an area cause can raise in many homes at once (a supply cut: no gas, no water, no
    power, no network; frost; low gas pressure failing ignitions). A sensor, an overheat or a fan fails
    in one boiler: many of them at once are many faults, never one incident."""


class IncidentNotFoundError(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Incident:
    incident_id: int
    region: str
    family: str
    status: str
    first_fault_at: datetime
    opened_at: datetime
    resolved_at: datetime | None
    owner: str | None
    devices: int
    cleared: int
    ticketed: int


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    actor: str
    action: str
    note: str


async def hold_if_area_incident(
    conn: Connection, config: IncidentConfig, *, device_id: str, code: str, family: str, at: datetime
) -> int | None:
    """Called by the fault engine when a non-safety code would open a case: the incident that now holds
    the device's fault (joined, or opened with this raise), or None to handle it alone."""
    if family not in config.families:
        return None
    region = await conn.fetchval(_Q["device_region"], device_id)
    if region is None:
        return None
    incident_id = await conn.fetchval(_Q["lock_open_incident"], region, family)
    opened = False
    if incident_id is None:
        recent = [
            RecentCase(r["case_id"], r["device_id"], r["code"], r["ticket_id"], r["first_raised_at"])
            for r in await conn.fetch(
                _Q["recent_cases"], region, family, at - config.window, safety_critical_codes()
            )
        ]
        if len({r.device_id for r in recent} | {device_id}) < config.min_devices:
            return None
        first = min([r.first_raised_at for r in recent] + [at])
        incident_id = await conn.fetchval(_Q["open_incident"], region, family, first)
        if incident_id is None:  # another worker opened it a moment ago
            incident_id = await conn.fetchval(_Q["lock_open_incident"], region, family)
        else:
            opened = True
            await _take_over(conn, int(incident_id), recent)
    assert incident_id is not None
    case_id = await fault_store.insert_case(conn, NewCase(device_id, family, code, "incident", at, None,
                                                          "incident.held"))  # fmt: skip
    await conn.execute(_Q["join_device"], incident_id, device_id, case_id, code)
    await _broadcast(conn, int(incident_id), "incident", [(device_id, case_id, code)], family, region)
    if opened:
        incident = await get_incident(conn, int(incident_id))
        await conn.execute(_Q["timeline"], incident_id, "engine", "opened", "")
        await publish(conn, EventType.INCIDENT_OPENED, f"incident/{incident_id}", _payload(incident))
    return int(incident_id)


@dataclass(frozen=True, slots=True)
class RecentCase:
    """A case of the surge so far, which the opening incident takes over."""

    case_id: int
    device_id: str
    code: str
    ticket_id: int | None
    first_raised_at: datetime


async def _take_over(conn: Connection, incident_id: int, recent: Sequence[RecentCase]) -> None:
    """The cases of the surge so far join the incident: their waiting alerts are withdrawn and their
    new repair tickets cancelled (the incident is the call center's one work item now)."""
    held: list[tuple[str, int, str]] = []
    for row in recent:
        case_id, device_id, code, ticket_id = row.case_id, row.device_id, row.code, row.ticket_id
        await alert_store.withdraw_pending(conn, case_id=case_id, ticket_id=None,
                                           reason=f"held by area incident {incident_id}")  # fmt: skip
        if ticket_id is not None:
            await lifecycle.transition(conn, ticket_id=ticket_id, to=Status.CANCELLED, actor="engine",
                                       note=f"held by area incident {incident_id}")  # fmt: skip
        await fault_store.hold_case(conn, case_id)
        await conn.execute(_Q["join_device"], incident_id, device_id, case_id, code)
        held.append((device_id, case_id, code))
    if held:
        incident = await get_incident(conn, incident_id)
        await _broadcast(conn, incident_id, "incident", held, incident.family, incident.region)


async def _broadcast(
    conn: Connection,
    incident_id: int,
    kind: str,
    devices: Sequence[tuple[str, int, str]],
    family: str,
    region: str,
) -> None:
    """One message per household (its first contacts) about the incident."""
    catalog = load_catalog()
    by_device = {device_id: (case_id, code) for device_id, case_id, code in devices}
    contacts = await fault_store.first_contacts_of(conn, list(by_device))
    alerts = []
    for device_id, people in contacts.items():
        case_id, code = by_device[device_id]
        message = compose_incident(kind, catalog.get(code), code, family=family, region_ko=region_name(region, "ko"),
                                   region_en=region_name(region, "en"))  # fmt: skip
        alerts += [NewAlert(device_id, c.contact_id, c.phone, c.preferred_channel, kind, code, case_id, None,
                            message.ko, message.en, incident_id=incident_id) for c in people]  # fmt: skip
    await alert_store.queue_alerts(conn, alerts)


async def case_cleared(conn: Connection, case_id: int, at: datetime) -> None:
    """A held boiler's fault cleared (the engine saw the event)."""
    if (incident_id := await conn.fetchval(_Q["incident_of_case"], case_id)) is not None:
        await conn.execute(_Q["device_cleared"], incident_id, case_id, at)


async def case_failed_again(conn: Connection, case_id: int) -> None:
    """A held boiler's fault came back before the incident ended."""
    if (incident_id := await conn.fetchval(_Q["incident_of_case"], case_id)) is not None:
        await conn.execute(_Q["device_failed_again"], incident_id, case_id)


def _payload(incident: Incident) -> JsonObject:
    return {
        "incident_id": incident.incident_id, "region": incident.region, "family": incident.family,
        "status": incident.status, "first_fault_at": incident.first_fault_at.isoformat(),
        "opened_at": incident.opened_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "owner": incident.owner, "devices": incident.devices, "cleared": incident.cleared,
        "ticketed": incident.ticketed,
    }  # fmt: skip


async def get_incident(conn: Connection, incident_id: int) -> Incident:
    row = await conn.fetchrow(_Q["incident"], incident_id)
    if row is None:
        raise IncidentNotFoundError(incident_id)
    return Incident(**dict(row))


async def list_incidents(conn: Connection, *, status: str | None, limit: int) -> list[Incident]:
    return [Incident(**dict(r)) for r in await conn.fetch(_Q["list_incidents"], status, limit)]


async def timeline(conn: Connection, incident_id: int) -> list[TimelineEntry]:
    return [TimelineEntry(**dict(r)) for r in await conn.fetch(_Q["incident_timeline"], incident_id)]


async def set_owner(conn: Connection, incident_id: int, owner: str, actor: str) -> Incident:
    """Who handles the incident for the call center; on the timeline."""
    async with conn.transaction():
        if await conn.fetchrow(_Q["lock_incident"], incident_id) is None:
            raise IncidentNotFoundError(incident_id)
        await conn.execute(_Q["set_owner"], incident_id, owner)
        await conn.execute(_Q["timeline"], incident_id, actor, "owner", owner)
    return await get_incident(conn, incident_id)


async def resolve(
    conn: Connection, engine: FaultEngine, incident_id: int, *, actor: str, note: str, at: datetime
) -> Incident:
    """End the incident: cleared boilers' cases close, failing ones get their own ticket, the households
    are told, the call center gets incident.resolved. Resolving a resolved incident changes nothing."""
    async with conn.transaction():
        row = await conn.fetchrow(_Q["lock_incident"], incident_id)
        if row is None:
            raise IncidentNotFoundError(incident_id)
        if row["status"] == "resolved":
            return Incident(**dict(row))
        held = await conn.fetch(_Q["held_devices"], incident_id)
        ticketed = 0
        for device in held:
            if device["still_failing"]:
                ticket_id = await engine.open_after_incident(
                    conn, case_id=device["case_id"], device_id=device["device_id"], code=device["code"],
                    family=device["family"], at=at, incident_id=incident_id,
                )  # fmt: skip
                await conn.execute(_Q["record_ticket"], incident_id, device["case_id"], ticket_id)
                ticketed += 1
            else:
                await fault_store.close_held_case(conn, device["case_id"])
        await conn.execute(_Q["resolve"], incident_id, at, ticketed)
        await conn.execute(_Q["timeline"], incident_id, actor, "resolved", note)
        await _broadcast(conn, incident_id, "incident_resolved",
                         [(d["device_id"], d["case_id"], d["code"]) for d in held], row["family"], row["region"])  # fmt: skip
        incident = await get_incident(conn, incident_id)
        await publish(conn, EventType.INCIDENT_RESOLVED, f"incident/{incident_id}", _payload(incident))
        return incident


async def resolve_quiet_incidents(
    conn: Connection, engine: FaultEngine, config: IncidentConfig, at: datetime
) -> int:
    """The sweep: resolve the incidents that went quiet with most of their boilers back; how many."""
    quiet = await conn.fetch(_Q["quiet_incidents"], config.quiet, config.cleared_share)
    for row in quiet:
        await resolve(
            conn, engine, row["incident_id"], actor="engine", note="quiet, most boilers back", at=at
        )
    return len(quiet)
