"""The command policy and the remote-reset judge as pure functions: every rule refuses on its own,
and names itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from diagnostics.catalog import load_catalog
from diagnostics.commands.policy import (
    CommandContext,
    CommandRequest,
    PolicySettings,
    Rule,
    check,
    model_limits,
)
from diagnostics.commands.watch import judge
from protocol.commands import CommandKind

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SETTINGS = PolicySettings()
CATALOG = load_catalog()
SAFETY = frozenset(e.code for e in CATALOG.entries() if e.safety_critical)
CALM = CommandContext(
    now=NOW, model="NCB-500", consent_scope=frozenset({"all"}), active_codes=("E003",), safety_raised_at=None,
    open_case_id=7, resets_on_case=0, last_reset_at=None, recent_commands=0, desired_version=4, safety_codes=SAFETY,
)  # fmt: skip
RESET = CommandRequest(kind=CommandKind.LOCKOUT_RESET, params={}, role="agent", own_device=False,
                       no_gas_smell_confirmed=True)  # fmt: skip


def _rule(request: CommandRequest, ctx: CommandContext = CALM) -> Rule | None:
    refusal = check(request, ctx, CATALOG, SETTINGS)
    return None if refusal is None else refusal.rule


def test_a_reset_allowed_by_every_rule_passes() -> None:
    assert _rule(RESET) is None


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"active_codes": ("E110",)}, Rule.SAFETY_ACTIVE),
        ({"active_codes": ("E003", "E014")}, Rule.SAFETY_ACTIVE),
        ({"safety_raised_at": NOW - timedelta(hours=23)}, Rule.SAFETY_RECENT),
        ({"active_codes": ("E002",)}, Rule.CATALOG_FORBIDS),
        ({"active_codes": ("E003", "E041")}, Rule.CATALOG_FORBIDS),
        ({"resets_on_case": 1}, Rule.ONCE_PER_CASE),
        ({"last_reset_at": NOW - timedelta(hours=5)}, Rule.RESET_WITHIN_24H),
        ({"active_codes": ()}, Rule.NO_LOCKOUT),
        ({"open_case_id": None}, Rule.NO_LOCKOUT),
        ({"consent_scope": None}, Rule.NO_CONSENT),
        ({"consent_scope": frozenset({"set_mode"})}, Rule.NO_CONSENT),
        ({"recent_commands": 10}, Rule.RATE_LIMIT),
    ],
)
def test_each_rule_refuses_a_reset_by_itself(change: dict[str, object], rule: Rule) -> None:
    assert _rule(RESET, replace(CALM, **change)) is rule  # type: ignore[arg-type]


def test_a_safety_code_raised_more_than_the_quiet_hours_ago_no_longer_blocks() -> None:
    assert _rule(RESET, replace(CALM, safety_raised_at=NOW - timedelta(hours=25))) is None


def test_the_gas_smell_question_must_have_been_asked() -> None:
    assert _rule(replace(RESET, no_gas_smell_confirmed=False)) is Rule.GAS_SMELL


def test_a_customer_changes_their_own_setpoint_and_mode_without_a_consent_but_never_resets() -> None:
    own = dict(role="customer", own_device=True)
    no_consent = replace(CALM, consent_scope=None)
    assert (
        _rule(CommandRequest(CommandKind.SET_CH_SETPOINT, {"room_c": 22.0}, if_version=4, **own), no_consent)
        is None
    )  # type: ignore[arg-type]
    assert (
        _rule(CommandRequest(CommandKind.SET_MODE, {"mode": "away"}, if_version=4, **own), no_consent) is None
    )  # type: ignore[arg-type]
    assert _rule(replace(RESET, role="customer", own_device=True)) is Rule.ROLE
    assert _rule(replace(RESET, role="admin")) is Rule.ROLE
    assert _rule(replace(RESET, role="device-provisioner")) is Rule.ROLE


@pytest.mark.parametrize(
    ("kind", "params", "rule"),
    [
        (CommandKind.SET_CH_SETPOINT, {"room_c": 35.0}, Rule.OUT_OF_RANGE),
        (CommandKind.SET_CH_SETPOINT, {"flow_c": 90.0}, Rule.OUT_OF_RANGE),
        (CommandKind.SET_CH_SETPOINT, {"room_c": 21.0, "flow_c": 60.0}, Rule.PARAMS),
        (CommandKind.SET_CH_SETPOINT, {"room_c": "warm"}, Rule.PARAMS),
        (CommandKind.SET_DHW_SETPOINT, {"dhw_c": 70.0}, Rule.OUT_OF_RANGE),
        (CommandKind.SET_MODE, {"mode": "turbo"}, Rule.PARAMS),
        (CommandKind.REQUEST_DIAGNOSTICS, {"x": 1.0}, Rule.PARAMS),
    ],
)
def test_parameters_outside_the_models_range_or_shape_are_refused(
    kind: CommandKind, params: dict[str, float | str], rule: Rule
) -> None:
    assert _rule(CommandRequest(kind, params, "agent", False, if_version=4)) is rule


def test_setpoints_need_the_version_seen_and_a_stale_one_conflicts() -> None:
    change = CommandRequest(CommandKind.SET_DHW_SETPOINT, {"dhw_c": 50.0}, "agent", False)
    assert _rule(change) is Rule.PARAMS
    assert _rule(replace(change, if_version=3)) is Rule.VERSION_CONFLICT
    assert _rule(replace(change, if_version=4)) is None


def test_water_filling_only_on_models_that_fill_themselves() -> None:
    fill = CommandRequest(CommandKind.WATER_FILL, {}, "agent", False)
    assert model_limits("NCB-500").water_fill
    assert _rule(fill) is None
    assert _rule(fill, replace(CALM, model="KRB-24C")) is Rule.NOT_SUPPORTED
    assert _rule(fill, replace(CALM, model="unknown-9")) is Rule.NOT_SUPPORTED


ENDED = NOW - timedelta(hours=3)
WATCH = timedelta(hours=2)


def test_a_reset_whose_code_stayed_clear_for_the_window_fixed_the_boiler() -> None:
    judged = judge(state="succeeded", ended_at=ENDED, code="E003", code_active=False,
                   code_raised_at=ENDED - timedelta(minutes=30), now=NOW, watch=WATCH, why=None)  # fmt: skip
    assert judged is not None
    assert judged.outcome == "fixed"


def test_a_reset_is_not_judged_before_its_window_ends() -> None:
    assert judge(state="succeeded", ended_at=NOW - timedelta(minutes=30), code="E003", code_active=False,
                 code_raised_at=ENDED, now=NOW, watch=WATCH, why=None) is None  # fmt: skip


def test_a_code_raised_again_after_the_reset_means_it_recurred_at_once() -> None:
    judged = judge(state="succeeded", ended_at=NOW - timedelta(minutes=30), code="E003", code_active=True,
                   code_raised_at=NOW - timedelta(minutes=5), now=NOW, watch=WATCH, why=None)  # fmt: skip
    assert judged is not None
    assert judged.outcome == "recurred"


def test_a_reset_that_failed_or_expired_is_failed_with_its_reason() -> None:
    for state in ("failed", "expired"):
        judged = judge(state=state, ended_at=ENDED, code="E003", code_active=True, code_raised_at=ENDED,
                       now=NOW, watch=WATCH, why="locked out again")  # fmt: skip
        assert judged is not None
        assert judged.outcome == "failed"
        assert "locked out again" in judged.detail
