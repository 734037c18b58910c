"""Asking for a command: the policy's decision and its record, in one transaction.

Both outcomes are recorded: a command that may be sent is queued (the dispatcher takes it to the
boiler), a refused one is stored as `rejected` with the rule that refused it. The history is the
access log of commands: who asked, for what, why, and what came of it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from diagnostics.catalog import load_catalog
from diagnostics.commands import store
from diagnostics.commands.policy import (
    DESIRED_KINDS,
    CommandContext,
    CommandRequest,
    PolicySettings,
    Refusal,
    check,
)
from protocol.commands import CommandKind
from telemetry import device_registry
from telemetry.database import Connection
from telemetry.json_values import JsonObject

__all__ = ["DEFAULT_TTL", "MAX_TTL", "Outcome", "Requester", "options", "request_command"]

DEFAULT_TTL: Final = timedelta(minutes=10)
MAX_TTL: Final = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Requester:
    label: str
    key_id: str
    role: str
    own_device: bool


@dataclass(frozen=True, slots=True)
class Outcome:
    command: store.CommandRecord | None
    """The stored command: queued, or rejected with its rule; None for an unknown device."""
    refusal: Refusal | None


async def request_command(
    conn: Connection,
    device_id: str,
    request: CommandRequest,
    requester: Requester,
    *,
    reason: str | None,
    ticket_id: int | None,
    ttl: timedelta,
    settings: PolicySettings,
    now: datetime | None = None,
) -> Outcome:
    """Decide and record one command request; call inside a transaction."""
    now = now or datetime.now(UTC)
    catalog = load_catalog()
    if not await device_registry.device_exists(conn, device_id=device_id):
        return Outcome(None, None)
    version = await store.lock_desired_version(conn, device_id)
    ctx = await _context(conn, device_id, request.kind, version, settings, now)
    if ctx is None:
        return Outcome(None, None)
    refusal = check(request, ctx, catalog, settings)
    params: JsonObject = dict(request.params)
    new_version: int | None = None
    if refusal is None and request.kind in DESIRED_KINDS:
        new_version = await store.update_desired(
            conn, device_id, _desired_change(request.kind, params), requester.label
        )
    result: JsonObject | None = None
    if refusal is not None:
        result = {"by": "policy", "rule": refusal.rule.value, "detail": refusal.detail}
    command = await store.insert_command(
        conn,
        store.NewCommand(
            command_id=uuid.uuid4(), device_id=device_id, kind=request.kind.value, params=params,
            requested_by=requester.label, requested_key=requester.key_id, role=requester.role, reason=reason,
            ticket_id=ticket_id,
            case_id=ctx.open_case_id if request.kind is CommandKind.LOCKOUT_RESET else None,
            desired_version=new_version, created_at=now, expires_at=now if refusal else now + ttl,
            state="rejected" if refusal else "queued", result=result,
        ),
    )  # fmt: skip
    if refusal is None:
        await store.notify(conn, device_id)
    return Outcome(command, refusal)


async def _context(
    conn: Connection, device_id: str, kind: CommandKind, version: int, settings: PolicySettings, now: datetime
) -> CommandContext | None:
    safety = sorted(e.code for e in load_catalog().entries() if e.safety_critical)
    facts = await store.request_facts(
        conn, device_id, safety_codes=safety, now=now, window_start=now - settings.rate_window
    )
    if facts is None:
        return None
    resets = 0
    if kind is CommandKind.LOCKOUT_RESET and facts.open_case_id is not None:
        resets = await store.resets_on_case(conn, facts.open_case_id)
    return CommandContext(
        now=now, model=facts.model, consent_scope=facts.consent_scope, active_codes=facts.active_codes,
        safety_raised_at=facts.safety_raised_at, open_case_id=facts.open_case_id, resets_on_case=resets,
        last_reset_at=facts.last_reset_at, recent_commands=facts.recent_commands, desired_version=version,
        safety_codes=frozenset(safety),
    )  # fmt: skip


_SAMPLE_PARAMS: Final[dict[CommandKind, dict[str, float | str]]] = {
    CommandKind.SET_CH_SETPOINT: {"room_c": 21.0},
    CommandKind.SET_DHW_SETPOINT: {"dhw_c": 45.0},
    CommandKind.SET_MODE: {"mode": "heating"},
}


async def options(
    conn: Connection, device_id: str, requester: Requester, settings: PolicySettings
) -> list[tuple[CommandKind, Refusal | None]] | None:
    """Which kinds of command this requester could send to the device now, and the rule that stops
    each of the others (for the console). Nothing is written; None for an unknown device. A reset is
    judged as if the customer had ruled out a gas smell: the agent asks that when sending it."""
    now = datetime.now(UTC)
    state = await store.desired_state(conn, device_id)
    if state is None:
        return None
    catalog = load_catalog()
    # One read serves every kind: only a reset's rules look at the resets of the case.
    ctx = await _context(conn, device_id, CommandKind.LOCKOUT_RESET, state.version, settings, now)
    if ctx is None:
        return None
    found: list[tuple[CommandKind, Refusal | None]] = []
    for kind in CommandKind:
        request = CommandRequest(
            kind=kind, params=_SAMPLE_PARAMS.get(kind, {}), role=requester.role, own_device=requester.own_device,
            no_gas_smell_confirmed=True, if_version=state.version,
        )  # fmt: skip
        found.append((kind, check(request, ctx, catalog, settings)))
    return found


def _desired_change(kind: CommandKind, params: JsonObject) -> JsonObject:
    """The desired-state keys a command sets: room_c or flow_c, dhw_c, mode."""
    if kind is CommandKind.SET_MODE:
        return {"mode": params["mode"]}
    return dict(params)
