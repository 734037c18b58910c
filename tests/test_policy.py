"""The engine's decisions, rule by rule, without any I/O."""

from __future__ import annotations

from diagnostics.catalog import load_catalog
from diagnostics.faults.policy import Action, Audience, CaseView, TicketKind, decide_clear, decide_raise

CATALOG = load_catalog()


def test_gas_leak_is_an_emergency_told_to_every_contact() -> None:
    d = decide_raise(CATALOG["E014"], None, recurred_within_window=False)
    assert (d.action, d.ticket_kind, d.alert, d.audience, d.priority) == (
        Action.OPEN_TICKET, TicketKind.EMERGENCY, "emergency", Audience.ALL, 1,
    )  # fmt: skip


def test_safety_critical_codes_open_urgent_tickets_and_alert_everyone() -> None:
    d = decide_raise(CATALOG["E004"], None, recurred_within_window=False)
    assert (d.action, d.ticket_kind, d.alert, d.audience, d.priority) == (
        Action.OPEN_TICKET, TicketKind.URGENT, "safety", Audience.ALL, 2,
    )  # fmt: skip


def test_self_fixable_code_guides_first_then_tickets_a_recurrence() -> None:
    e003 = CATALOG["E003"]
    first = decide_raise(e003, None, recurred_within_window=False)
    assert (first.action, first.alert) == (Action.GUIDE, "guidance")
    again = decide_raise(e003, CaseView("guidance", 1), recurred_within_window=False)
    assert (again.action, again.rule) == (Action.OPEN_TICKET, "if_recurs.recurred_before_clearing")
    after_fix = decide_raise(e003, None, recurred_within_window=True)
    assert (after_fix.action, after_fix.rule) == (Action.OPEN_TICKET, "if_recurs.recurred_within_24h")


def test_sensor_faults_open_a_ticket_directly_and_repeats_only_count() -> None:
    e205 = CATALOG["E205"]
    assert decide_raise(e205, None, recurred_within_window=False).ticket_kind is TicketKind.REPAIR
    assert decide_raise(e205, CaseView("ticketed", 3), recurred_within_window=False).action is Action.REPEAT


def test_scheduled_advisories_plan_a_visit_and_never_codes_only_inform() -> None:
    assert decide_raise(CATALOG["A01"], None, recurred_within_window=False).ticket_kind is TicketKind.PLANNED
    d = decide_raise(CATALOG["E095"], None, recurred_within_window=False)
    assert (d.action, d.alert) == (Action.INFORM, "guidance")


def test_unknown_codes_go_to_a_technician() -> None:
    d = decide_raise(None, None, recurred_within_window=False)
    assert (d.action, d.rule) == (Action.OPEN_TICKET, "unknown_code")


def test_clearing_closes_guidance_as_resolved_by_customer_and_marks_tickets_cleared() -> None:
    assert decide_clear(CaseView("guidance", 1)).action is Action.RESOLVED_BY_CUSTOMER
    assert decide_clear(CaseView("informed", 1)).action is Action.CLOSE_INFORMED
    assert decide_clear(CaseView("ticketed", 4)).action is Action.FAULT_CLEARED
    assert decide_clear(None).action is Action.NOTHING


def test_every_decision_says_which_rule_fired_and_why() -> None:
    for entry in CATALOG.entries():
        d = decide_raise(entry, None, recurred_within_window=False)
        assert d.rule
        assert entry.code in d.why
