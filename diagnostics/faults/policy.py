"""What the engine does with one raised or cleared code, decided from the catalog policy alone.

Pure functions of (catalog entry, the device's open case for that fault family): no I/O, so every
rule is tested directly and every decision carries the rule that fired and a sentence saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from diagnostics.catalog import CatalogEntry, Dispatch, SelfFix, Severity

__all__ = [
    "Action", "Audience", "CaseView", "Decision", "GuidanceDelivery", "TicketKind", "WaitUntil", "decide_clear",
    "decide_confirm", "decide_guidance_due", "decide_raise",
]  # fmt: skip


class Action(StrEnum):
    GUIDE = "guide"
    """Open a case, send the customer self-fix guidance, wait for the fault to clear."""
    INFORM = "inform"
    """Open an informational case (no technician), with guidance when the customer can act."""
    OPEN_TICKET = "open_ticket"
    """Open an A/S ticket (new case, or the device's open case turns into one)."""
    REPEAT = "repeat"
    """The fault came back while its case is open: count it (and on the ticket)."""
    CONFIRM_PREDICTION = "confirm_prediction"
    """The hard fault an open predicted ticket foresaw arrived: that ticket becomes its repair ticket."""
    RESOLVED_BY_CUSTOMER = "resolved_by_customer"
    CLOSE_INFORMED = "close_informed"
    FAULT_CLEARED = "fault_cleared"
    """The fault behind an open ticket cleared: recorded; a long clear proposes remote resolution."""
    INCIDENT = "incident"
    """An area incident holds the fault: no alert or ticket of its own (diagnostics/cold_wave)."""
    NOTHING = "nothing"


class TicketKind(StrEnum):
    EMERGENCY = "emergency"
    URGENT = "urgent"
    REPAIR = "repair"
    PLANNED = "planned"


class Audience(StrEnum):
    OWNERS = "owners"
    ALL = "all"


_PRIORITY = {TicketKind.EMERGENCY: 1, TicketKind.URGENT: 2, TicketKind.REPAIR: 3, TicketKind.PLANNED: 4}


@dataclass(frozen=True, slots=True)
class CaseView:
    """The device's open case for the code's family, as the policy needs to see it."""

    status: str
    """guidance | informed | ticketed"""
    raises: int


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    rule: str
    why: str
    ticket_kind: TicketKind | None = None
    alert: str | None = None
    """guidance | safety | emergency"""
    audience: Audience | None = None

    @property
    def priority(self) -> int | None:
        return _PRIORITY[self.ticket_kind] if self.ticket_kind else None


def _ticket(entry: CatalogEntry | None, rule: str, why: str) -> Decision:
    if entry is None:
        return Decision(Action.OPEN_TICKET, rule, why, TicketKind.REPAIR)
    if entry.dispatch is Dispatch.EMERGENCY_FIRST:
        return Decision(Action.OPEN_TICKET, rule, why, TicketKind.EMERGENCY, "emergency", Audience.ALL)
    if entry.safety_critical:
        return Decision(Action.OPEN_TICKET, rule, why, TicketKind.URGENT, "safety", Audience.ALL)
    if entry.dispatch is Dispatch.SCHEDULED:
        return Decision(Action.OPEN_TICKET, rule, why, TicketKind.PLANNED)
    return _repair(rule, why, device_code=not entry.advisory)


def _repair(rule: str, why: str, *, device_code: bool) -> Decision:
    """A repair ticket for a fault the boiler reported: the owners are told a visit is needed and get
    the link where they pick its time (docs/customer-link.md). A repair predicted from telemetry is not
    announced this way: the call center explains it."""
    if not device_code:
        return Decision(Action.OPEN_TICKET, rule, why, TicketKind.REPAIR)
    return Decision(Action.OPEN_TICKET, rule, why, TicketKind.REPAIR, "visit", Audience.OWNERS)


def _guidance_audience(entry: CatalogEntry) -> Audience:
    """Family members hear about serious faults too (often an elderly parent lives alone)."""
    serious = entry.severity in (Severity.HIGH, Severity.CRITICAL)
    return Audience.ALL if serious else Audience.OWNERS


def decide_raise(entry: CatalogEntry | None, case: CaseView | None, recurred_within_window: bool) -> Decision:
    """A code was raised. `recurred_within_window`: the customer resolved this family recently."""
    if entry is None:
        if case is not None:
            return Decision(Action.REPEAT, "unknown_code.repeat", "an unknown code came back")
        return _ticket(None, "unknown_code", "the code is not in the catalog: a technician must look")
    if case is not None:
        if case.status == "guidance":
            return _ticket(entry, "if_recurs.recurred_before_clearing",
                           f"{entry.code} came back before the customer's fix cleared it")  # fmt: skip
        return Decision(Action.REPEAT, f"{entry.dispatch.value}.repeat", f"{entry.code} raised again")
    if entry.dispatch is Dispatch.EMERGENCY_FIRST:
        return _ticket(
            entry, "emergency_first", f"{entry.code} is a gas or CO emergency: gas company and 119 first"
        )
    if entry.safety_critical:
        return _ticket(
            entry, "safety_critical", f"{entry.code} is safety-critical: urgent visit, every contact told"
        )
    if entry.dispatch is Dispatch.ALWAYS:
        return _ticket(entry, "always", f"{entry.code} needs a technician")
    if entry.dispatch is Dispatch.SCHEDULED:
        return _ticket(entry, "scheduled", f"{entry.code} needs a planned visit, without urgency")
    if entry.dispatch is Dispatch.IF_RECURS:
        if recurred_within_window:
            return _ticket(entry, "if_recurs.recurred_within_24h",
                           f"{entry.code} came back within 24 h of the customer's fix")  # fmt: skip
        return Decision(Action.GUIDE, "if_recurs.guide_first",
                        f"{entry.code} is often fixed by the customer: guidance first, ticket if it persists",
                        alert="guidance", audience=_guidance_audience(entry))  # fmt: skip
    has_steps = entry.self_fix is not SelfFix.NO
    return Decision(Action.INFORM, "never", f"{entry.code} needs no technician",
                    alert="guidance" if has_steps else None,
                    audience=_guidance_audience(entry) if has_steps else None)  # fmt: skip


def decide_clear(case: CaseView | None) -> Decision:
    """A code was cleared by the device."""
    if case is None:
        return Decision(Action.NOTHING, "clear.no_open_case", "no open case for this fault")
    if case.status == "guidance":
        return Decision(Action.RESOLVED_BY_CUSTOMER, "if_recurs.cleared", "the fault cleared after guidance")
    if case.status == "informed":
        return Decision(Action.CLOSE_INFORMED, "never.cleared", "the condition cleared")
    return Decision(Action.FAULT_CLEARED, "ticket.fault_cleared", "the fault behind the ticket cleared")


def decide_confirm(entry: CatalogEntry) -> Decision:
    """A device-reported code arrived while a ticket predicted from telemetry is open in its family.

    The ticket already carries the evidence and maybe a booked visit, so it is kept and raised to what
    the hard code needs on its own (a repair at least: the boiler has now failed), and the customer
    gets the alert the hard code would have sent."""
    alone = decide_raise(entry, None, recurred_within_window=False)
    kind = alone.ticket_kind if alone.action is Action.OPEN_TICKET else TicketKind.REPAIR
    if kind is None or kind is TicketKind.PLANNED:
        kind = TicketKind.REPAIR
    return Decision(Action.CONFIRM_PREDICTION, "predicted.confirmed",
                    f"{entry.code} confirms the ticket predicted for this fault family", kind,
                    alone.alert, alone.audience)  # fmt: skip


@dataclass(frozen=True, slots=True)
class GuidanceDelivery:
    """How far a guided case's self-fix guidance got to the customer."""

    raised_at: datetime
    first_sent_at: datetime | None
    """When the first guidance message of the case went out, to anyone."""
    pending_until: datetime | None
    """The latest time a guidance message still waiting (quiet hours, a provider retry) is due."""


@dataclass(frozen=True, slots=True)
class WaitUntil:
    """Not yet: look at the case again at `at`."""

    at: datetime
    why: str


def decide_guidance_due(
    entry: CatalogEntry | None, code: str, delivery: GuidanceDelivery, *, now: datetime, wait: timedelta,
    hold_limit: timedelta,
) -> Decision | WaitUntil:  # fmt: skip
    """A guided case reached its earliest deadline (raise + wait) and its fault has not cleared.

    The customer's chance to fix it starts when the guidance reaches them, not when the fault was
    raised: guidance held overnight for the contact's quiet hours would otherwise run out unread and
    open a ticket on a customer who was never told. The wait is not endless: guidance that could not
    go out within `hold_limit` of the raise (or could not go out at all: no contact, no consent, the
    provider refused it) opens the ticket, saying so, because the boiler is still down."""
    if delivery.first_sent_at is not None:
        if delivery.first_sent_at + wait > now:
            return WaitUntil(
                delivery.first_sent_at + wait, "the guidance went out; the customer's window runs"
            )
        why = f"{code} did not clear within {_minutes(wait)} min of the guidance reaching the customer"
        return _overdue_ticket(entry, "if_recurs.not_cleared_in_time", why)
    if delivery.pending_until is not None and now - delivery.raised_at < hold_limit:
        look_again = min(max(delivery.pending_until, now) + wait, delivery.raised_at + hold_limit)
        return WaitUntil(look_again, "the guidance has not gone out yet")
    why = (
        f"{code}: the guidance could not reach anyone within {_minutes(hold_limit)} min of the raise"
        if delivery.pending_until is not None
        else f"{code}: the guidance could not reach anyone (no contact, no consent or refused)"
    )
    return _overdue_ticket(entry, "if_recurs.customer_not_reached", why)


def _overdue_ticket(entry: CatalogEntry | None, rule: str, why: str) -> Decision:
    if entry is not None and entry.safety_critical:
        return Decision(Action.OPEN_TICKET, rule, why, TicketKind.URGENT)
    return _repair(rule, why, device_code=entry is not None and not entry.advisory)


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)
