"""What the customer's page does: find the case from the token, say where the case stands, and apply
the customer's answers (it works again, still not working, consent and a remote reset, a visit booked
or moved, the happy call) in one transaction each, with the ticket note and the call-center event
that each one owes.

Every refusal of a token (malformed, unknown, expired, revoked) is the same `LinkNotValidError`: the page
never tells a guesser whether a case exists.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Final

from diagnostics.call_center_events import EventType, publish
from diagnostics.catalog import CatalogEntry, load_catalog
from diagnostics.cold_wave.dispatch_plan import PlanConfig, PlannedJob, dispatch_plan
from diagnostics.commands import service as command_service
from diagnostics.commands import store as command_store
from diagnostics.commands.policy import CUSTOMER_LINK_ROLE, CommandRequest, PolicySettings, Refusal
from diagnostics.customer_link import store
from diagnostics.customer_link.store import Answer, Booking, CaseView, Link, RepairReport, Slot, Survey
from diagnostics.customer_link.tokens import TOKEN_PATTERN, LinkSecret, new_salt, token_hash
from diagnostics.faults import store as fault_store
from diagnostics.faults.engine import EngineConfig, FaultEngine
from diagnostics.service_points import ServicePointDirectory
from diagnostics.tickets import lifecycle
from diagnostics.tickets.lifecycle import TERMINAL, Status
from protocol.commands import CommandKind
from telemetry.database import Connection
from telemetry.json_values import JsonObject
from telemetry.korean_time import kst_day

__all__ = [
    "BOOKING_DAYS", "LinkNotValidError", "NotNowError", "PageState", "Phase", "ResetOffer", "SlotTakenError", "answer_survey",
    "book_visit", "grant_consent", "issue_token", "mark_opened", "open_link", "page_state", "request_reset", "still_broken",
    "works_again",
]  # fmt: skip

BOOKING_DAYS: Final = 7
"""How many days ahead (from tomorrow) the page offers visit windows."""
FLAG_SCORE: Final = 2
"""A happy-call score at or below this reopens work for the call center."""
CONSENT_HOURS: Final = (24, 24 * 30)
"""The consent lengths the page offers: a day, or a month."""


class LinkNotValidError(LookupError):
    """The token opens nothing: the same answer whether it was never issued, expired or revoked."""


class NotNowError(ValueError):
    """The answer does not fit where the case stands (a visit for a case without a ticket, a second
    survey); `reason` is a stable name the page words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SlotTakenError(ValueError):
    """The window filled up since the page was shown; `slots`: the windows still free."""

    def __init__(self, slots: list[Slot]) -> None:
        super().__init__("that visit window was just taken")
        self.slots = slots


def _label(link: Link) -> str:
    return f"customer-link:{link.link_id}"


async def issue_token(
    conn: Connection, secret: LinkSecret, *, case_id: int, device_id: str, phone: str, language: str,
    valid_for: timedelta, now: datetime,
) -> str | None:  # fmt: skip
    """The token of the case's link for this number (created on the first message; every message
    extends it by `valid_for`); None when the link was revoked (the message then goes without one)."""
    issued = await store.issue_link(conn, case_id=case_id, device_id=device_id, phone=phone, language=language,
                                    salt=new_salt(), expires_at=now + valid_for)  # fmt: skip
    if issued.revoked:
        return None
    token = secret.token(issued.link_id, issued.salt)
    if issued.fresh:
        await store.set_token_hash(conn, issued.link_id, token_hash(token))
    return token


async def open_link(conn: Connection, token: str, now: datetime) -> Link:
    """The link a token opens; LinkNotValidError otherwise (no hint of why)."""
    if not TOKEN_PATTERN.match(token):
        raise LinkNotValidError
    link = await store.link_by_hash(conn, token_hash(token))
    if link is None or link.revoked_at is not None or link.expires_at <= now:
        raise LinkNotValidError
    return link


async def mark_opened(conn: Connection, link: Link) -> None:
    """Counted for the call center (was the link opened, how often) and the deflection figures."""
    await store.mark_opened(conn, link.link_id)


class Phase(StrEnum):
    """Where the case stands, as the page shows it."""

    SAFETY = "safety"
    """A safety-critical fault: what to do now; a technician is coming (no booking, no self-fix)."""
    SELF_FIX = "self_fix"
    """Guidance: the steps, and "it works again" / "still not working"."""
    WATCHING = "watching"
    """The fault cleared (and perhaps the customer said so): watched for the recurrence window."""
    BOOK = "book"
    """A ticket without a visit: pick a window."""
    BOOKED = "booked"
    """A visit is booked: who comes and when; "I won't be home" moves it."""
    DONE = "done"
    """The ticket ended: the result, the cost and the happy call."""
    CLOSED = "closed"
    """Nothing more to do (the condition cleared, or the ticket was cancelled)."""
    INCIDENT = "incident"
    """An area incident holds the fault (a supply cut): nothing to do; told when it ends."""


class ResetOffer(StrEnum):
    """What the page offers about a remote reset."""

    NONE = "none"
    ASK_CONSENT = "ask_consent"
    CAN_REQUEST = "can_request"
    REQUESTED = "requested"


@dataclass(frozen=True, slots=True)
class PageState:
    link: Link
    case: CaseView
    entry: CatalogEntry | None
    phase: Phase
    answers: list[Answer]
    booking: Booking | None
    slots: list[Slot]
    report: RepairReport | None
    survey: Survey | None
    reset: ResetOffer
    watch_until: datetime | None
    """When the engine stops watching a fault the customer fixed (the recurrence window's end)."""
    eta: PlannedJob | None = None
    """When the point has no free window to offer: the earliest a technician can come by the point's
    dispatch plan (perhaps from a neighbouring point), or None when there is no room either."""


_RECURRENCE_WINDOW: Final = EngineConfig().recurrence_window
_ACTIVE_TICKET: Final = frozenset({"open", "contacted", "scheduled", "dispatched"})


async def page_state(
    conn: Connection, link: Link, *, now: datetime, recurrence_window: timedelta = _RECURRENCE_WINDOW,
    policy: PolicySettings | None = None,
) -> PageState:  # fmt: skip
    """Everything the page shows, the same for every contact of the case (only the survey is each
    contact's own)."""
    case = await store.case_view(conn, link.case_id)
    if case is None:  # the device was erased since the link was sent
        raise LinkNotValidError
    entry = load_catalog().get(case.code)
    answers = await store.case_answers(conn, case.case_id)
    booking = await store.booking_of_ticket(conn, case.ticket_id) if case.ticket_id is not None else None
    report = await store.repair_report(conn, case.ticket_id) if case.ticket_id is not None else None
    survey = await store.survey_of(conn, case.ticket_id, link.link_id) if case.ticket_id is not None else None
    phase = _phase(case, entry, booking)
    slots: list[Slot] = []
    if phase in (Phase.BOOK, Phase.BOOKED) and case.service_point_id is not None:
        slots = await _open_slots(conn, case.service_point_id, now)
    watch_until = None
    if phase is Phase.WATCHING and case.last_cleared_at is not None:
        watch_until = case.last_cleared_at + recurrence_window
    reset = await _reset_offer(conn, case, entry, phase, answers, policy or PolicySettings())
    eta = None
    if phase is Phase.BOOK and not slots and case.service_point_id is not None and case.ticket_id is not None:
        plan = await dispatch_plan(conn, case.service_point_id, PlanConfig(), now)
        eta = next((j for j in plan if j.ticket_id == case.ticket_id and j.day is not None), None)
    return PageState(
        link, case, entry, phase, answers, booking, slots, report, survey, reset, watch_until, eta
    )


def _phase(case: CaseView, entry: CatalogEntry | None, booking: Booking | None) -> Phase:
    if case.ticket_status is not None:
        if case.ticket_status in ("resolved", "resolved_remotely", "closed"):
            return Phase.DONE
        if case.ticket_status == "cancelled":
            return Phase.CLOSED
        if entry is not None and entry.safety_critical:
            return Phase.SAFETY
        return Phase.BOOKED if booking is not None else Phase.BOOK
    if entry is not None and entry.safety_critical:
        return Phase.SAFETY
    if case.case_status == "incident":
        return Phase.INCIDENT
    if case.case_status == "resolved_by_customer":
        return Phase.WATCHING
    if case.case_status == "closed":
        return Phase.CLOSED
    return Phase.SELF_FIX


async def _open_slots(conn: Connection, point_id: str, now: datetime) -> list[Slot]:
    first = kst_day(now) + timedelta(days=1)
    return [
        s
        for s in await store.free_slots(conn, point_id=point_id, first_day=first, days=BOOKING_DAYS)
        if s.free > 0
    ]


async def _reset_offer(
    conn: Connection, case: CaseView, entry: CatalogEntry | None, phase: Phase, answers: list[Answer],
    policy: PolicySettings,
) -> ResetOffer:  # fmt: skip
    """A reset is offered only while the fault is active, before a visit, where the catalog allows one."""
    if entry is None or not entry.remote_reset or not case.code_active:
        return ResetOffer.NONE
    if phase not in (Phase.SELF_FIX, Phase.BOOK, Phase.BOOKED):
        return ResetOffer.NONE
    if any(a.kind == "reset" and a.details.get("accepted") for a in answers):
        return ResetOffer.REQUESTED
    consent = await command_store.active_consent(conn, case.device_id)
    if consent is None or not ({"all", CommandKind.LOCKOUT_RESET.value} & set(consent.scope)):
        return ResetOffer.ASK_CONSENT
    options = await command_service.options(conn, case.device_id, _requester_for(case.device_id), policy)
    refusal = next((r for k, r in options or [] if k is CommandKind.LOCKOUT_RESET), None)
    return ResetOffer.CAN_REQUEST if refusal is None else ResetOffer.NONE


def _requester_for(label: str) -> command_service.Requester:
    return command_service.Requester(
        label=label, key_id="customer-link", role=CUSTOMER_LINK_ROLE, own_device=True
    )


async def _engine(conn: Connection) -> FaultEngine:
    return FaultEngine(load_catalog(), await ServicePointDirectory.load(conn), EngineConfig())


async def _note(conn: Connection, ticket_id: int | None, body: str) -> None:
    if ticket_id is not None:
        await lifecycle.add_note(conn, ticket_id=ticket_id, author="customer (link)", body=body)


async def works_again(conn: Connection, link: Link, now: datetime) -> None:
    """The customer says the boiler works again. Recorded on the case (and its ticket); the engine
    still decides from the telemetry: the case closes when the code clears, and a recurrence within
    the window reopens it with a ticket, saying the customer had thought it fixed."""
    async with conn.transaction():
        locked = await store.lock_case(conn, link.case_id)
        if locked is None:
            raise LinkNotValidError
        await fault_store.customer_said_fixed(conn, link.case_id, now)
        await store.insert_answer(conn, link_id=link.link_id, case_id=link.case_id, ticket_id=locked.ticket_id,
                                  kind="works_again", details={"case_status": locked.status})  # fmt: skip
        await _note(conn, locked.ticket_id, "The customer says the boiler works again.")


async def still_broken(conn: Connection, link: Link, now: datetime) -> int | None:
    """The customer says the boiler still does not work: a ticket opens now (unless one is open
    already). Returns the case's ticket, if it has one."""
    async with conn.transaction():
        locked = await store.lock_case(conn, link.case_id)
        if locked is None:
            raise LinkNotValidError
        ticket_id = locked.ticket_id
        reopened = None
        if ticket_id is None or locked.status not in ("guidance", "informed", "ticketed"):
            case = await store.case_view(conn, link.case_id)
            assert case is not None
            if not await fault_store.has_open_case(conn, case.device_id, case.family) or locked.status in (
                "guidance", "informed",
            ):  # fmt: skip
                engine = await _engine(conn)
                await engine.customer_still_broken(conn, case_id=link.case_id, device_id=case.device_id,
                                                   code=locked.code, family=case.family, at=now)  # fmt: skip
                ticket_id = (await store.lock_case(conn, link.case_id) or locked).ticket_id
                reopened = ticket_id
        await store.insert_answer(conn, link_id=link.link_id, case_id=link.case_id, ticket_id=ticket_id,
                                  kind="still_broken", details={"ticket_opened": reopened})  # fmt: skip
        await _note(conn, ticket_id, "The customer says the boiler still does not work.")
        return ticket_id


async def book_visit(conn: Connection, link: Link, *, day: date, slot: str, now: datetime) -> Booking:
    """Book (or move) the case's visit to a window; SlotTakenError with the free windows when it filled
    up meanwhile. The ticket goes to 'scheduled' and the call center gets ticket.scheduled."""
    if slot not in ("am", "pm"):
        raise NotNowError("bad_slot")
    async with conn.transaction():
        locked = await store.lock_case(conn, link.case_id)
        case = await store.case_view(conn, link.case_id)
        if locked is None or case is None:
            raise LinkNotValidError
        entry = load_catalog().get(case.code)
        if (
            case.ticket_id is None
            or case.ticket_status not in _ACTIVE_TICKET
            or case.service_point_id is None
        ):
            raise NotNowError("no_visit_to_book")
        if entry is not None and entry.safety_critical:
            raise NotNowError("safety_visit_arranged_by_call_center")
        point = case.service_point_id
        await store.lock_point(conn, point)
        first = kst_day(now) + timedelta(days=1)
        current = await store.booking_of_ticket(conn, case.ticket_id)
        if current is not None and (current.day, current.slot) == (day, slot):
            return current  # the same form posted twice: nothing moves, nothing is announced again
        if not first <= day < first + timedelta(days=BOOKING_DAYS):
            raise NotNowError("day_not_offered")
        window = next((s for s in await store.free_slots(conn, point_id=point, first_day=day, days=1)
                       if s.slot == slot), None)  # fmt: skip
        if window is None or window.free <= 0:
            raise SlotTakenError(await _open_slots(conn, point, now))
        moved = await store.end_booking(conn, case.ticket_id, "moved")
        technician = await store.pick_technician(conn, point, day)
        await store.insert_booking(conn, ticket_id=case.ticket_id, point_id=point, day=day, slot=slot,
                                   technician_id=technician, by=_label(link))  # fmt: skip
        await _schedule_ticket(conn, case.ticket_id, case.ticket_status, link, technician)
        booking = await store.booking_of_ticket(conn, case.ticket_id)
        assert booking is not None
        details: JsonObject = {"day": day.isoformat(), "slot": slot, "technician_id": technician}
        if moved is not None:
            details["moved_from"] = {"day": moved.day.isoformat(), "slot": moved.slot}
        await store.insert_answer(conn, link_id=link.link_id, case_id=link.case_id, ticket_id=case.ticket_id,
                                  kind="moved" if moved else "booked", details=details)  # fmt: skip
        payload = await store.ticket_payload(conn, case.ticket_id)
        payload["appointment"] = {"day": day.isoformat(), "slot": slot, "service_point_id": point,
                                  "technician_id": technician, "booked_by": "customer",
                                  "moved_from": details.get("moved_from")}  # fmt: skip
        await publish(conn, EventType.TICKET_SCHEDULED, f"ticket/{case.ticket_id}", payload)
        what = "moved the visit to" if moved else "booked a visit on"
        await _note(conn, case.ticket_id, f"The customer {what} {day.isoformat()} {slot}.")
        return booking


async def _schedule_ticket(
    conn: Connection, ticket_id: int, status: str | None, link: Link, technician: str | None
) -> None:
    """open → contacted → scheduled (the customer was reached through the link); a scheduled or
    dispatched ticket stays scheduled (a moved visit)."""
    actor = _label(link)
    if status == Status.OPEN:
        await lifecycle.transition(conn, ticket_id=ticket_id, to=Status.CONTACTED, actor=actor,
                                   note="the customer answered through the case's link")  # fmt: skip
        status = Status.CONTACTED
    if status in (Status.CONTACTED, Status.DISPATCHED):
        await lifecycle.transition(conn, ticket_id=ticket_id, to=Status.SCHEDULED, actor=actor,
                                   note="the customer booked a visit")  # fmt: skip
    if technician is not None:
        await lifecycle.assign(
            conn, ticket_id=ticket_id, service_point_id=None, technician=technician, actor=actor
        )


async def grant_consent(conn: Connection, link: Link, *, hours: int, now: datetime) -> None:
    """The customer allows remote lockout resets of this boiler for `hours` (one of CONSENT_HOURS)."""
    if hours not in CONSENT_HOURS:
        raise NotNowError("bad_consent_length")
    async with conn.transaction():
        await command_store.grant_consent(conn, link.device_id, [CommandKind.LOCKOUT_RESET.value], by=_label(link),
                                          via="customer", expires_at=now + timedelta(hours=hours))  # fmt: skip
        locked = await store.lock_case(conn, link.case_id)
        ticket_id = locked.ticket_id if locked else None
        await store.insert_answer(conn, link_id=link.link_id, case_id=link.case_id, ticket_id=ticket_id,
                                  kind="consent", details={"scope": ["lockout_reset"], "hours": hours})  # fmt: skip
        await _note(conn, ticket_id, f"The customer allowed remote resets for {hours} h.")


@dataclass(frozen=True, slots=True)
class ResetAnswer:
    command_id: uuid.UUID | None
    refusal: Refusal | None


async def request_reset(
    conn: Connection, link: Link, *, no_gas_smell: bool, policy: PolicySettings, now: datetime
) -> ResetAnswer:
    """The customer asks for one remote lockout reset; the command policy decides as for anyone
    (consent, the catalog, safety codes, once per case, the gas-smell question)."""
    async with conn.transaction():
        locked = await store.lock_case(conn, link.case_id)
        if locked is None:
            raise LinkNotValidError
        request = CommandRequest(kind=CommandKind.LOCKOUT_RESET, params={}, role=CUSTOMER_LINK_ROLE,
                                 own_device=True, no_gas_smell_confirmed=no_gas_smell)  # fmt: skip
        outcome = await command_service.request_command(
            conn, link.device_id, request, _requester_for(_label(link)),
            reason="asked by the customer from the case's link", ticket_id=locked.ticket_id,
            ttl=command_service.DEFAULT_TTL, settings=policy, now=now,
        )  # fmt: skip
        command_id = outcome.command.command_id if outcome.command else None
        refusal = outcome.refusal
        details: JsonObject = {"command_id": str(command_id) if command_id else None, "accepted": refusal is None,
                               "rule": refusal.rule.value if refusal else None}  # fmt: skip
        await store.insert_answer(conn, link_id=link.link_id, case_id=link.case_id, ticket_id=locked.ticket_id,
                                  kind="reset", details=details)  # fmt: skip
        what = "a remote reset was sent" if refusal is None else f"refused ({refusal.rule.value})"
        await _note(conn, locked.ticket_id, f"The customer asked for a remote reset: {what}.")
        return ResetAnswer(command_id, refusal)


@dataclass(frozen=True, slots=True)
class SurveyAnswer:
    flagged: bool
    follow_up_ticket_id: int | None


async def answer_survey(
    conn: Connection, link: Link, *, score: int, solved: bool, comment: str, now: datetime
) -> SurveyAnswer:
    """The happy call, once per contact and ticket. A low score or "not solved" reopens work: a
    follow-up ticket (unless one is open for the fault already) and survey.flagged for the call center."""
    if not 1 <= score <= 5:
        raise NotNowError("bad_score")
    comment = comment.strip()[:1000]
    async with conn.transaction():
        case = await store.case_view(conn, link.case_id)
        if case is None:
            raise LinkNotValidError
        if (
            case.ticket_id is None
            or Status(case.ticket_status or "open") not in TERMINAL
            or case.ticket_status == "cancelled"
        ):
            raise NotNowError("no_repair_to_rate")
        flagged = score <= FLAG_SCORE or not solved
        survey_id = await store.insert_survey(conn, ticket_id=case.ticket_id, link_id=link.link_id, score=score,
                                              solved=solved, comment=comment, flagged=flagged)  # fmt: skip
        if survey_id is None:
            raise NotNowError("already_answered")
        follow_up = None
        if flagged:
            follow_up = await _reopen_work(conn, case, score=score, solved=solved, comment=comment, now=now)
            if follow_up is not None:
                await store.set_follow_up(conn, survey_id, follow_up)
            payload: JsonObject = {
                "ticket_id": case.ticket_id, "device_id": case.device_id, "code": case.code, "score": score,
                "solved": solved, "comment": comment, "follow_up_ticket_id": follow_up,
                "answered_at": now.isoformat(),
            }  # fmt: skip
            await publish(conn, EventType.SURVEY_FLAGGED, f"ticket/{case.ticket_id}", payload)
        await store.insert_answer(conn, link_id=link.link_id, case_id=link.case_id, ticket_id=case.ticket_id,
                                  kind="survey", details={"score": score, "solved": solved, "flagged": flagged})  # fmt: skip
        await _note(conn, case.ticket_id, f"Happy call: {score}/5, solved: {'yes' if solved else 'no'}"
                    + (f", comment: {comment}" if comment else "") + (" (flagged)" if flagged else ""))  # fmt: skip
        return SurveyAnswer(flagged, follow_up)


async def _reopen_work(
    conn: Connection, case: CaseView, *, score: int, solved: bool, comment: str, now: datetime
) -> int | None:
    """A follow-up ticket for the flagged repair; None when the fault already has an open ticket
    (the survey then lands on that one as a note)."""
    if await store.has_open_ticket(conn, case.device_id, case.family):
        return None
    engine = await _engine(conn)
    why = f"the customer rated the repair of ticket {case.ticket_id} {score}/5" + (
        "" if solved else ", not solved"
    )
    evidence: JsonObject = {"survey": {"ticket_id": case.ticket_id, "score": score, "solved": solved,
                                       "comment": comment}}  # fmt: skip
    return await engine.open_follow_up(conn, device_id=case.device_id, code=case.code, family=case.family,
                                       at=now, why=why, evidence=evidence)  # fmt: skip


def parse_day(value: str) -> date:
    """A day from the page's form (YYYY-MM-DD); NotNowError('bad_day') otherwise."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise NotNowError("bad_day") from None


def now_utc() -> datetime:
    return datetime.now(UTC)
