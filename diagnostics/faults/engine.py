"""Applies policy decisions to the store: cases, tickets (routed, with warranty and evidence), the
audit trail and the outboxes, all inside the caller's transaction.

One call handles one event of the inbox. The caller deletes the event in the same transaction, so an
event's effects and its removal from the queue commit together: a killed worker redoes nothing and
misses nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from diagnostics.catalog import Catalog, CatalogEntry, Dispatch
from diagnostics.faults.policy import (
    Action,
    Audience,
    CaseView,
    Decision,
    GuidanceDelivery,
    WaitUntil,
    decide_clear,
    decide_confirm,
    decide_guidance_due,
    decide_raise,
)  # fmt: skip
from diagnostics.messages import store as alert_store
from diagnostics.messages.texts import PointName, compose
from diagnostics.service_points import ServicePointDirectory
from diagnostics.warranty import warranty_on
from telemetry import named_queries
from telemetry.database import Connection
from telemetry.korean_time import kst_day

__all__ = ["EngineConfig", "FaultEngine", "InboxEvent"]

_Q: Final = named_queries.load("engine", package="diagnostics.faults").require(
    "active_codes", "case_cleared", "close_case", "confirm_predictions", "confirm_ticket", "contacts", "device_facts", "guidance_delivery", "insert_alert", "insert_case", "insert_prediction", "lock_open_case", "lock_recent_resolution", "open_case_in_family", "open_prediction_in_family", "open_ticket", "postpone_guidance_deadline", "repeat", "ticket_fault_cleared", "ticket_service_point",
)  # fmt: skip
UNKNOWN_FAMILY: Final = "unknown"


@dataclass(frozen=True, slots=True)
class EngineConfig:
    guidance_wait: timedelta = timedelta(minutes=30)
    """The customer's window to fix a guided fault, from when the guidance reaches them."""
    guidance_hold_limit: timedelta = timedelta(hours=12)
    """Guidance that could not go out this long after the raise (quiet hours, providers down) opens the
    ticket anyway: the boiler is still down and someone must call."""
    recurrence_window: timedelta = timedelta(hours=24)
    contact_within: timedelta = timedelta(hours=1)
    stay_clear_for_remote_resolution: timedelta = timedelta(hours=24)
    default_warranty_years: int = 3
    alert_ack_within: timedelta = timedelta(minutes=10)
    """A safety alert nobody acknowledged this long goes to the next contacts and the call center."""
    device_offline_events: bool = True
    """Tell the call center (device.offline) when a device stops reporting; off during a known outage."""


@dataclass(frozen=True, slots=True)
class InboxEvent:
    inbox_id: int
    device_id: str
    ts: datetime
    seq: int
    code: str
    state: str
    received_at: datetime
    evidence: dict[str, Any] | None = None
    """What a detector saw, for a code the platform raised itself from telemetry (A##)."""

    @property
    def raised(self) -> bool:
        return self.state == "raised"


class FaultEngine:
    """Turns inbox events into cases, tickets and alerts per the catalog."""

    def __init__(self, catalog: Catalog, service_points: ServicePointDirectory, config: EngineConfig) -> None:
        self.catalog = catalog
        self.service_points = service_points
        self.config = config

    async def handle(self, conn: Connection, event: InboxEvent) -> Decision:
        entry = self.catalog.get(event.code)
        family = entry.family if entry else UNKNOWN_FAMILY
        case = await conn.fetchrow(_Q["lock_open_case"], event.device_id, family)
        view = CaseView(case["status"], case["raises"]) if case else None
        if not event.raised:
            decision = decide_clear(view)
            await self._apply_clear(conn, event, entry, family, case, decision)
            return decision
        if (
            case is not None
            and entry is not None
            and not entry.advisory
            and str(case["code"]).startswith("A")
        ):
            return await self._confirm_prediction(conn, event, entry, family, case)
        recent = None
        if case is None and entry is not None and entry.dispatch is Dispatch.IF_RECURS:
            since = event.ts - self.config.recurrence_window
            recent = await conn.fetchrow(_Q["lock_recent_resolution"], event.device_id, family, since)
        decision = decide_raise(entry, view, recurred_within_window=recent is not None)
        await self._apply_raise(conn, event, entry, family, case or recent, decision)
        return decision

    async def _apply_raise(
        self,
        conn: Connection,
        event: InboxEvent,
        entry: CatalogEntry | None,
        family: str,
        case: Any,
        decision: Decision,
    ) -> None:
        if decision.action in (Action.GUIDE, Action.INFORM):
            status = "guidance" if decision.action is Action.GUIDE else "informed"
            deadline = event.ts + self.config.guidance_wait if decision.action is Action.GUIDE else None
            case_id = await conn.fetchval(
                _Q["insert_case"],
                event.device_id,
                family,
                event.code,
                status,
                event.ts,
                deadline,
                decision.rule,
            )
            if entry is not None and decision.alert:
                await self._alert(conn, event, entry, decision, case_id=case_id, ticket_id=None)
        elif decision.action is Action.OPEN_TICKET:
            await self._open_ticket(conn, event, entry, family, case, decision)
        elif decision.action is Action.REPEAT:
            await conn.execute(_Q["repeat"], case["case_id"], event.code, event.ts)

    async def open_prediction(
        self, conn: Connection, *, device_id: str, code: str, detector: str, at: datetime,
        eta: datetime | None, evidence: dict[str, Any],
    ) -> int | None:  # fmt: skip
        """A detector found a trend: open the advisory's case (a planned ticket, or guidance for the
        customer) with the evidence, and record the prediction. Returns its id, or None when the
        device already has an open prediction or case in that fault family (nothing is opened twice)."""
        entry = self.catalog[code]
        family = entry.family
        if await conn.fetchval(_Q["open_prediction_in_family"], device_id, family) is not None:
            return None
        if await conn.fetchval(_Q["open_case_in_family"], device_id, family) is not None:
            return None
        event = InboxEvent(
            0, device_id, at, 0, code, "raised", at, evidence={"detector": detector, **evidence}
        )
        decision = decide_raise(entry, None, recurred_within_window=False)
        await self._apply_raise(conn, event, entry, family, None, decision)
        prediction_id = await conn.fetchval(_Q["insert_prediction"], device_id, code, family, detector, at, eta,
                                            json.dumps(evidence, ensure_ascii=False))  # fmt: skip
        return int(prediction_id)

    async def _confirm_prediction(
        self, conn: Connection, event: InboxEvent, entry: CatalogEntry, family: str, case: Any
    ) -> Decision:
        """The hard fault arrived while a predicted case is open in its family: link, do not duplicate."""
        confirmed = await conn.fetch(_Q["confirm_predictions"], event.device_id, family, event.code, event.ts)
        decision = decide_confirm(entry)
        if case["ticket_id"] is None:
            # An advisory without a ticket (guidance only): it is closed, and the hard code is handled
            # as it would be on its own; the prediction above records that it came true.
            await _close_case(conn, case["case_id"], "closed", event.ts,
                              f"{event.code} arrived: the predicted fault's guidance no longer applies")  # fmt: skip
            alone = decide_raise(entry, None, recurred_within_window=False)
            await self._apply_raise(conn, event, entry, family, None, alone)
            return alone
        assert decision.ticket_kind is not None
        assert decision.priority is not None
        confirmation = {
            "code": event.code, "at": event.ts.isoformat(),
            "predictions": [{"prediction_id": r["prediction_id"], "code": r["code"],
                             "predicted_at": r["predicted_at"].isoformat(),
                             "lead_hours": round((event.ts - r["predicted_at"]).total_seconds() / 3600, 1)}
                            for r in confirmed],
        }  # fmt: skip
        note = f"{event.code} confirmed the predicted fault ({case['code']})"
        await conn.execute(_Q["confirm_ticket"], case["case_id"], event.code, event.ts, decision.ticket_kind.value,
                           decision.priority, json.dumps(confirmation), note)  # fmt: skip
        if decision.alert:
            await self._alert(
                conn, event, entry, decision, case_id=case["case_id"], ticket_id=case["ticket_id"]
            )
        return decision

    async def ticket_overdue_guidance(self, conn: Connection, case: Any) -> None:
        """A guided case reached its earliest deadline with its fault still raised: a ticket, unless the
        customer's window (which starts when the guidance reaches them) is still open; then the case
        is looked at again when it closes."""
        entry = self.catalog.get(case["code"])
        row = _found(await conn.fetchrow(_Q["guidance_delivery"], case["case_id"]))
        delivery = GuidanceDelivery(case["first_raised_at"], row["first_sent_at"], row["pending_until"])
        decision = decide_guidance_due(entry, case["code"], delivery, now=row["now"], wait=self.config.guidance_wait,
                                       hold_limit=self.config.guidance_hold_limit)  # fmt: skip
        if isinstance(decision, WaitUntil):
            await conn.execute(_Q["postpone_guidance_deadline"], case["case_id"], decision.at)
            return
        trigger = InboxEvent(
            0,
            case["device_id"],
            case["guidance_deadline"],
            0,
            case["code"],
            "overdue",
            case["guidance_deadline"],
        )
        await self._open_ticket(conn, trigger, entry, case["family"], case, decision)

    async def _open_ticket(
        self,
        conn: Connection,
        event: InboxEvent,
        entry: CatalogEntry | None,
        family: str,
        case: Any,
        decision: Decision,
    ) -> None:
        facts = _found(
            await conn.fetchrow(_Q["device_facts"], event.device_id, self.config.default_warranty_years)
        )
        assignment = self.service_points.assign(facts["latitude"], facts["longitude"], facts["region"])
        warranty = warranty_on(facts["installed_on"], facts["warranty_years"], kst_day(event.ts))
        evidence = {
            "rule": decision.rule,
            "why": decision.why,
            "policy": entry.dispatch.value if entry else None,
            "trigger": {"code": event.code, "state": event.state, "ts": event.ts.isoformat(), "seq": event.seq},
            "telemetry": json.loads(facts["latest"]) if facts["latest"] else None,
            "service_point": None if assignment is None else {
                "point_id": assignment.point.point_id, "name": assignment.point.name,
                "distance_km": assignment.distance_km,
                "how": "nearest covering point" if assignment.distance_km is not None else "region (no coordinates)",
            },
            "warranty": {"years": warranty.years, "installed_on": _iso(facts["installed_on"]),
                         "ends_on": _iso(warranty.ends_on), "in_warranty": warranty.in_warranty},
        }  # fmt: skip
        if event.evidence is not None:
            evidence["prediction"] = event.evidence
        assert decision.ticket_kind is not None
        assert decision.priority is not None
        opened = _found(
            await conn.fetchrow(
                _Q["open_ticket"], None if case is None else case["case_id"], event.device_id, family, event.code,
                decision.ticket_kind.value, decision.priority, event.ts, self.config.contact_within,
                assignment.point.point_id if assignment else None, assignment.distance_km if assignment else None,
                facts["region"], warranty.in_warranty, warranty.ends_on, decision.rule,
                json.dumps(evidence, ensure_ascii=False), decision.why, 1 if event.raised else 0,
            )
        )  # fmt: skip
        if entry is not None and decision.alert:
            await self._alert(
                conn, event, entry, decision, case_id=opened["case_id"], ticket_id=opened["ticket_id"]
            )

    async def _apply_clear(
        self,
        conn: Connection,
        event: InboxEvent,
        entry: CatalogEntry | None,
        family: str,
        case: Any,
        decision: Decision,
    ) -> None:
        if decision.action is Action.RESOLVED_BY_CUSTOMER:
            await _close_case(conn, case["case_id"], "resolved_by_customer", event.ts,
                              f"{event.code} cleared before the guidance went out")  # fmt: skip
        elif decision.action is Action.CLOSE_INFORMED:
            await _close_case(conn, case["case_id"], "closed", event.ts, f"{event.code} cleared")
        elif decision.action is Action.FAULT_CLEARED:
            await conn.execute(_Q["case_cleared"], case["case_id"], event.ts)
            if await self._family_still_active(conn, event.device_id, family):
                return
            await conn.execute(_Q["ticket_fault_cleared"], case["ticket_id"], event.ts)

    async def _family_still_active(self, conn: Connection, device_id: str, family: str) -> bool:
        codes = [r["code"] for r in await conn.fetch(_Q["active_codes"], device_id)]
        for code in codes:
            entry = self.catalog.get(code)
            if (entry.family if entry else UNKNOWN_FAMILY) == family:
                return True
        return False

    async def _alert(
        self, conn: Connection, event: InboxEvent, entry: CatalogEntry, decision: Decision,
        *, case_id: int, ticket_id: int | None,
    ) -> None:  # fmt: skip
        assert decision.alert is not None
        point = await conn.fetchrow(_Q["ticket_service_point"], ticket_id) if ticket_id is not None else None
        names = None if point is None else PointName(point["name"], point["name_en"])
        message = compose(entry, decision.alert, service_point=names)
        contacts = await conn.fetch(_Q["contacts"], event.device_id)
        owners = [c for c in contacts if c["role"] == "owner"]
        audience = contacts if decision.audience is Audience.ALL or not owners else owners
        await conn.executemany(
            _Q["insert_alert"],
            [(event.device_id, c["contact_id"], c["phone"], c["preferred_channel"], decision.alert, event.code,
              case_id, ticket_id, message.ko, message.en) for c in audience],
        )  # fmt: skip


async def _close_case(conn: Connection, case_id: int, status: str, at: datetime, why: str) -> None:
    """Close a case, and withdraw its alerts that are still waiting to go out (held for quiet hours,
    say): guidance for a fault that already cleared would tell the customer something untrue."""
    await conn.execute(_Q["close_case"], case_id, status, at)
    await alert_store.withdraw_pending(conn, case_id=case_id, ticket_id=None, reason=why)


def _found(row: Any) -> Any:
    if row is None:
        raise LookupError("a row the engine relies on is missing (device deleted meanwhile?)")
    return row


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
