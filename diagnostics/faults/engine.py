"""Applies policy decisions to the store: cases, tickets (routed, with warranty and evidence), the
audit trail and the outboxes, all inside the caller's transaction.

One call handles one event of the inbox. The caller deletes the event in the same transaction, so an
event's effects and its removal from the queue commit together: a killed worker redoes nothing and
misses nothing. Two other triggers reach the same decisions: guidance that ran out (the sweeps) and
a detector's prediction (predictive care).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Final

from diagnostics.answers.store import answer_for_device
from diagnostics.catalog import Catalog, CatalogEntry, Dispatch
from diagnostics.cold_wave import incidents
from diagnostics.cold_wave.incidents import IncidentConfig
from diagnostics.faults import store
from diagnostics.faults.policy import (
    Action,
    Audience,
    CaseView,
    Decision,
    GuidanceDelivery,
    TicketKind,
    WaitUntil,
    decide_clear,
    decide_confirm,
    decide_guidance_due,
    decide_raise,
)  # fmt: skip
from diagnostics.faults.store import GuidedCase, NewCase, NewPrediction, NewTicket, OpenCase, OpenedTicket
from diagnostics.faults.trigger import Trigger
from diagnostics.messages import store as alert_store
from diagnostics.messages.store import NewAlert
from diagnostics.messages.texts import Wording, compose
from diagnostics.service_points import Assignment, ServicePointDirectory
from diagnostics.warranty import Warranty, warranty_on
from telemetry.database import Connection
from telemetry.event_inbox import InboxEvent
from telemetry.json_values import JsonObject, JsonValue
from telemetry.korean_time import kst_day

__all__ = ["EngineConfig", "FaultEngine", "InboxEvent"]

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
    incidents: IncidentConfig = field(default_factory=IncidentConfig)
    """When many boilers of a region fail alike at once, one area incident holds them."""


class FaultEngine:
    """Turns inbox events into cases, tickets and alerts per the catalog."""

    def __init__(self, catalog: Catalog, service_points: ServicePointDirectory, config: EngineConfig) -> None:
        self.catalog = catalog
        self.service_points = service_points
        self.config = config

    async def handle(self, conn: Connection, event: InboxEvent) -> Decision:
        trigger = Trigger.of_event(event)
        entry = self.catalog.get(event.code)
        family = entry.family if entry else UNKNOWN_FAMILY
        case = await store.lock_open_case(conn, event.device_id, family)
        view = CaseView(case.status, case.raises) if case else None
        if not event.raised:
            decision = decide_clear(view)
            await self._apply_clear(conn, trigger, family, case, decision)
            return decision
        if case is not None and case.status == "incident":
            await incidents.case_failed_again(conn, case.case_id)
        elif case is None and entry is not None and not entry.safety_critical and not entry.advisory:
            held = await incidents.hold_if_area_incident(conn, self.config.incidents, device_id=event.device_id,
                                                         code=event.code, family=family, at=event.ts)  # fmt: skip
            if held is not None:
                return Decision(
                    Action.INCIDENT, "incident.held", f"{event.code}: held by area incident {held}"
                )
        if case is not None and entry is not None and not entry.advisory and case.code.startswith("A"):
            return await self._confirm_prediction(conn, trigger, entry, family, case)
        recent = None
        if case is None and entry is not None and entry.dispatch is Dispatch.IF_RECURS:
            since = event.ts - self.config.recurrence_window
            recent = await store.lock_recent_resolution(conn, event.device_id, family, since)
        decision = decide_raise(entry, view, recurred_within_window=recent is not None)
        if recent is not None and recent.customer_said_fixed and decision.action is Action.OPEN_TICKET:
            decision = replace(decision, rule="if_recurs.recurred_after_customer_said_fixed",
                               why=f"{event.code} came back within 24 h after the customer said the boiler "
                                   "worked again")  # fmt: skip
        reopened = recent.case_id if recent is not None else None
        await self._apply_raise(conn, trigger, entry, family, case.case_id if case else reopened, decision)
        return decision

    async def _apply_raise(
        self, conn: Connection, trigger: Trigger, entry: CatalogEntry | None, family: str, case_id: int | None,
        decision: Decision,
    ) -> None:  # fmt: skip
        """`case_id`: the device's open case of the family, or the recently resolved one it reopens."""
        if decision.action in (Action.GUIDE, Action.INFORM):
            guided = decision.action is Action.GUIDE
            new_case_id = await store.insert_case(conn, NewCase(
                trigger.device_id, family, trigger.code, "guidance" if guided else "informed", trigger.at,
                trigger.at + self.config.guidance_wait if guided else None, decision.rule,
            ))  # fmt: skip
            if entry is not None and decision.alert:
                await self._alert(conn, trigger, entry, decision, case_id=new_case_id, ticket_id=None)
        elif decision.action is Action.OPEN_TICKET:
            await self._open_ticket(conn, trigger, entry, family, case_id, decision)
        elif decision.action is Action.REPEAT:
            assert case_id is not None  # a repeat is decided on an open case
            await store.repeat(conn, case_id, trigger.code, trigger.at)

    async def open_prediction(
        self, conn: Connection, *, device_id: str, code: str, detector: str, at: datetime,
        eta: datetime | None, evidence: Mapping[str, JsonValue],
    ) -> int | None:  # fmt: skip
        """A detector found a trend: open the advisory's case (a planned ticket, or guidance for the
        customer) with the evidence, and record the prediction. Returns its id, or None when the
        device already has an open prediction or case in that fault family (nothing is opened twice)."""
        entry = self.catalog[code]
        family = entry.family
        if await store.has_open_prediction(conn, device_id, family):
            return None
        if await store.has_open_case(conn, device_id, family):
            return None
        trigger = Trigger.of_prediction(
            device_id=device_id, code=code, at=at, detector=detector, evidence=evidence
        )
        decision = decide_raise(entry, None, recurred_within_window=False)
        await self._apply_raise(conn, trigger, entry, family, None, decision)
        return await store.insert_prediction(
            conn, NewPrediction(device_id, code, family, detector, at, eta, evidence)
        )

    async def _confirm_prediction(
        self, conn: Connection, trigger: Trigger, entry: CatalogEntry, family: str, case: OpenCase
    ) -> Decision:
        """The hard fault arrived while a predicted case is open in its family: link, do not duplicate."""
        confirmed = await store.confirm_predictions(
            conn, device_id=trigger.device_id, family=family, code=trigger.code, at=trigger.at
        )
        decision = decide_confirm(entry)
        if case.ticket_id is None:
            # An advisory without a ticket (guidance only): it is closed, and the hard code is handled
            # as it would be on its own; the prediction above records that it came true.
            await _close_case(conn, case.case_id, "closed", trigger.at,
                              f"{trigger.code} arrived: the predicted fault's guidance no longer applies")  # fmt: skip
            alone = decide_raise(entry, None, recurred_within_window=False)
            await self._apply_raise(conn, trigger, entry, family, None, alone)
            return alone
        assert decision.ticket_kind is not None
        assert decision.priority is not None
        confirmation: JsonObject = {
            "code": trigger.code, "at": trigger.at.isoformat(),
            "predictions": [{"prediction_id": p.prediction_id, "code": p.code,
                             "predicted_at": p.predicted_at.isoformat(),
                             "lead_hours": round((trigger.at - p.predicted_at).total_seconds() / 3600, 1)}
                            for p in confirmed],
        }  # fmt: skip
        await store.confirm_ticket(
            conn, case_id=case.case_id, code=trigger.code, at=trigger.at, kind=decision.ticket_kind.value,
            priority=decision.priority, confirmation=confirmation,
            note=f"{trigger.code} confirmed the predicted fault ({case.code})",
        )  # fmt: skip
        if decision.alert:
            await self._alert(conn, trigger, entry, decision, case_id=case.case_id, ticket_id=case.ticket_id)
        return decision

    async def ticket_overdue_guidance(self, conn: Connection, case: GuidedCase) -> None:
        """A guided case reached its earliest deadline with its fault still raised: a ticket, unless the
        customer's window (which starts when the guidance reaches them) is still open; then the case
        is looked at again when it closes."""
        entry = self.catalog.get(case.code)
        progress = await alert_store.guidance_progress(conn, case.case_id)
        delivery = GuidanceDelivery(case.first_raised_at, progress.first_sent_at, progress.pending_until)
        decision = decide_guidance_due(entry, case.code, delivery, now=progress.now, wait=self.config.guidance_wait,
                                       hold_limit=self.config.guidance_hold_limit)  # fmt: skip
        if isinstance(decision, WaitUntil):
            await store.postpone_guidance(conn, case.case_id, decision.at)
            return
        trigger = Trigger.overdue_guidance(
            device_id=case.device_id, code=case.code, deadline=case.guidance_deadline
        )
        await self._open_ticket(conn, trigger, entry, case.family, case.case_id, decision)

    async def customer_still_broken(
        self, conn: Connection, *, case_id: int, device_id: str, code: str, family: str, at: datetime
    ) -> None:
        """The customer says the boiler still does not work (through the case's link): the ticket opens
        now rather than when the guidance window runs out. The caller locked the case and checked it
        has no ticket."""
        entry = self.catalog.get(code)
        kind = TicketKind.URGENT if entry is not None and entry.safety_critical else TicketKind.REPAIR
        decision = Decision(Action.OPEN_TICKET, "customer.still_not_working",
                            f"the customer says the boiler still does not work ({code})", kind)  # fmt: skip
        trigger = Trigger.of_customer(device_id=device_id, code=code, at=at, answer="still_broken")
        await self._open_ticket(conn, trigger, entry, family, case_id, decision)

    async def open_after_incident(
        self, conn: Connection, *, case_id: int, device_id: str, code: str, family: str, at: datetime,
        incident_id: int,
    ) -> int:  # fmt: skip
        """An area incident ended and this boiler still fails: its own repair ticket, and its owner is
        asked to book the visit."""
        entry = self.catalog.get(code)
        decision = Decision(Action.OPEN_TICKET, "incident.fault_persists",
                            f"{code} still active when area incident {incident_id} ended", TicketKind.REPAIR,
                            "visit" if entry is not None else None, Audience.OWNERS if entry is not None else None)  # fmt: skip
        trigger = Trigger.incident_ended(device_id=device_id, code=code, at=at)
        opened = await self._open_ticket(conn, trigger, entry, family, case_id, decision,
                                         extra={"incident_id": incident_id})  # fmt: skip
        return opened.ticket_id

    async def open_follow_up(
        self, conn: Connection, *, device_id: str, code: str, family: str, at: datetime, why: str,
        evidence: Mapping[str, JsonValue],
    ) -> int:  # fmt: skip
        """Work reopened by the happy call (a low score, or "not solved"): a new repair ticket on its own
        case, carrying the survey; the call center calls the customer back."""
        entry = self.catalog.get(code)
        decision = Decision(Action.OPEN_TICKET, "survey.flagged", why, TicketKind.REPAIR)
        trigger = Trigger.of_customer(device_id=device_id, code=code, at=at, answer="survey_flagged")
        opened = await self._open_ticket(conn, trigger, entry, family, None, decision, extra=evidence)
        return opened.ticket_id

    async def _open_ticket(
        self, conn: Connection, trigger: Trigger, entry: CatalogEntry | None, family: str, case_id: int | None,
        decision: Decision, extra: Mapping[str, JsonValue] | None = None,
    ) -> OpenedTicket:  # fmt: skip
        facts = await store.device_facts(
            conn, trigger.device_id, default_warranty_years=self.config.default_warranty_years
        )
        assignment = self.service_points.assign(facts.latitude, facts.longitude, facts.region)
        warranty = warranty_on(facts.installed_on, facts.warranty_years, kst_day(trigger.at))
        evidence: JsonObject = {
            "rule": decision.rule,
            "why": decision.why,
            "policy": entry.dispatch.value if entry else None,
            "trigger": trigger.evidence(),
            "telemetry": json.loads(facts.latest) if facts.latest else None,
            "service_point": _service_point_evidence(assignment),
            "warranty": _warranty_evidence(warranty, facts.installed_on),
        }
        if trigger.prediction is not None:
            evidence["prediction"] = trigger.prediction
        evidence.update(extra or {})
        assert decision.ticket_kind is not None
        assert decision.priority is not None
        opened = await store.open_ticket(conn, NewTicket(
            case_id=case_id, device_id=trigger.device_id, family=family, code=trigger.code,
            kind=decision.ticket_kind.value, priority=decision.priority, raised_at=trigger.at,
            contact_within=self.config.contact_within,
            service_point_id=assignment.point.point_id if assignment else None,
            service_point_distance_km=assignment.distance_km if assignment else None, region=facts.region,
            in_warranty=warranty.in_warranty, warranty_ends_on=warranty.ends_on, rule=decision.rule,
            evidence=evidence, why=decision.why, counts_raise=trigger.raised,
        ))  # fmt: skip
        if entry is not None and decision.alert:
            await self._alert(
                conn, trigger, entry, decision, case_id=opened.case_id, ticket_id=opened.ticket_id
            )
        return opened

    async def _apply_clear(
        self, conn: Connection, trigger: Trigger, family: str, case: OpenCase | None, decision: Decision
    ) -> None:
        if case is None:
            return  # nothing is open for the fault
        if decision.action is Action.RESOLVED_BY_CUSTOMER:
            await _close_case(conn, case.case_id, "resolved_by_customer", trigger.at,
                              f"{trigger.code} cleared before the guidance went out")  # fmt: skip
        elif decision.action is Action.CLOSE_INFORMED:
            await _close_case(conn, case.case_id, "closed", trigger.at, f"{trigger.code} cleared")
        elif decision.action is Action.FAULT_CLEARED:
            await store.case_cleared(conn, case.case_id, trigger.at)
            if case.status == "incident":
                await incidents.case_cleared(conn, case.case_id, trigger.at)
            if case.ticket_id is None or await self._family_still_active(conn, trigger.device_id, family):
                return
            await store.ticket_fault_cleared(conn, case.ticket_id, trigger.at)

    async def _family_still_active(self, conn: Connection, device_id: str, family: str) -> bool:
        for code in await store.active_codes(conn, device_id):
            entry = self.catalog.get(code)
            if (entry.family if entry else UNKNOWN_FAMILY) == family:
                return True
        return False

    async def _alert(
        self, conn: Connection, trigger: Trigger, entry: CatalogEntry, decision: Decision,
        *, case_id: int, ticket_id: int | None,
    ) -> None:  # fmt: skip
        """The decision's alert to the device's first contacts (the owners only, unless every contact
        must hear it or there is no owner)."""
        assert decision.alert is not None
        names = await store.service_point_names(conn, ticket_id) if ticket_id is not None else None
        message = compose(entry, decision.alert, service_point=names,
                          wording=await _wording(conn, trigger.code, trigger.device_id))  # fmt: skip
        contacts = await store.first_contacts(conn, trigger.device_id)
        owners = [c for c in contacts if c.role == "owner"]
        audience = contacts if decision.audience is Audience.ALL or not owners else owners
        await alert_store.queue_alerts(conn, [
            NewAlert(trigger.device_id, c.contact_id, c.phone, c.preferred_channel, decision.alert, trigger.code,
                     case_id, ticket_id, message.ko, message.en)
            for c in audience
        ])  # fmt: skip


async def _wording(conn: Connection, code: str, device_id: str) -> Wording | None:
    """The standard answer's words for the code on this device's model family (None: no entry), so
    that an alert says what the customer page and the agent say."""
    answer = await answer_for_device(conn, code, device_id)
    if answer is None:
        return None
    body = answer.body
    return Wording(body.customer_ko, body.customer_en, tuple(body.steps_ko), tuple(body.steps_en))


async def _close_case(conn: Connection, case_id: int, status: str, at: datetime, why: str) -> None:
    """Close a case, and withdraw its alerts that are still waiting to go out (held for quiet hours,
    say): guidance for a fault that already cleared would tell the customer something untrue."""
    await store.close_case(conn, case_id, status, at)
    await alert_store.withdraw_pending(conn, case_id=case_id, ticket_id=None, reason=why)


def _service_point_evidence(assignment: Assignment | None) -> JsonValue:
    if assignment is None:
        return None
    how = "nearest covering point" if assignment.distance_km is not None else "region (no coordinates)"
    return {"point_id": assignment.point.point_id, "name": assignment.point.name,
            "distance_km": assignment.distance_km, "how": how}  # fmt: skip


def _warranty_evidence(warranty: Warranty, installed_on: date | None) -> JsonValue:
    return {"years": warranty.years, "installed_on": _iso(installed_on), "ends_on": _iso(warranty.ends_on),
            "in_warranty": warranty.in_warranty}  # fmt: skip


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
