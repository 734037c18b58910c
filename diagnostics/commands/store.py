"""The commands' typed store: commands, their append-only transitions, consents and desired state.

Owns `commands`, `command_transitions`, `remote_consents` and `device_desired_state` (migration
0023). Transitions and call-center events are written by the table's trigger (`command_changed`),
and a device's answers are applied by `apply_command_answer` on the gateway's insert into
`command_answers`: no path can change a command without its history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

from telemetry import named_queries
from telemetry.database import Connection, Row
from telemetry.json_values import JsonObject

__all__ = [
    "OPEN_STATES",
    "CommandRecord",
    "Consent",
    "DesiredState",
    "Dispatchable",
    "RequestFacts",
    "Transition",
    "active_consent",
    "cancel",
    "claim_dispatchable",
    "desired_state",
    "device_commands",
    "expire_due",
    "get_command",
    "grant_consent",
    "insert_command",
    "lock_desired_version",
    "mark_sent",
    "notify",
    "request_facts",
    "resets_on_case",
    "revoke_consent",
    "transitions",
    "update_desired",
]

_Q: Final = named_queries.load("commands", package="diagnostics.commands").require(
    "lock_desired_state", "request_context", "resets_on_case", "insert_command", "update_desired_state",
    "notify_commands", "get_command", "device_commands", "command_transitions", "cancel_command",
    "claim_dispatchable", "mark_sent", "expire_due", "grant_consent", "revoke_consent", "active_consent",
    "desired_state",
)  # fmt: skip

OPEN_STATES: Final = ("queued", "sent", "delivered")


@dataclass(frozen=True, slots=True)
class CommandRecord:
    command_id: UUID
    device_id: str
    kind: str
    params: JsonObject
    requested_by: str
    role: str
    reason: str | None
    ticket_id: int | None
    case_id: int | None
    desired_version: int | None
    created_at: datetime
    expires_at: datetime
    state: str
    result: JsonObject | None
    attempts: int
    sent_at: datetime | None
    updated_at: datetime


def _json(value: object) -> JsonObject | None:
    if value is None:
        return None
    loaded = json.loads(value) if isinstance(value, str) else value
    assert isinstance(loaded, dict)
    return loaded


def _record(row: Row) -> CommandRecord:
    params = _json(row["params"])
    return CommandRecord(
        command_id=row["command_id"], device_id=row["device_id"], kind=row["kind"], params=params or {},
        requested_by=row["requested_by"], role=row["role"], reason=row["reason"], ticket_id=row["ticket_id"],
        case_id=row["case_id"], desired_version=row["desired_version"], created_at=row["created_at"],
        expires_at=row["expires_at"], state=row["state"], result=_json(row["result"]), attempts=row["attempts"],
        sent_at=row["sent_at"], updated_at=row["updated_at"],
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the policy needs to know of a device, read in the request's transaction."""

    model: str | None
    consent_scope: frozenset[str] | None
    active_codes: tuple[str, ...]
    safety_raised_at: datetime | None
    open_case_id: int | None
    last_reset_at: datetime | None
    recent_commands: int


async def lock_desired_version(conn: Connection, device_id: str) -> int:
    """Lock the device's desired state for this transaction (requests for one device queue here)
    and return its version."""
    row = await conn.fetchrow(_Q["lock_desired_state"], device_id)
    if row is None:  # made by this statement's CTE, not visible to its own SELECT: read it again
        row = await conn.fetchrow(_Q["lock_desired_state"], device_id)
    assert row is not None
    return int(row["version"])


async def request_facts(
    conn: Connection, device_id: str, *, safety_codes: list[str], now: datetime, window_start: datetime
) -> RequestFacts | None:
    """None when the device is not registered."""
    row = await conn.fetchrow(_Q["request_context"], device_id, safety_codes, now, window_start)
    if row is None:
        return None
    scope = row["consent_scope"]
    return RequestFacts(
        model=row["model"], consent_scope=None if scope is None else frozenset(scope),
        active_codes=tuple(row["active_codes"]), safety_raised_at=row["safety_raised_at"],
        open_case_id=row["open_case_id"], last_reset_at=row["last_reset_at"], recent_commands=int(row["recent_commands"]),
    )  # fmt: skip


async def resets_on_case(conn: Connection, case_id: int) -> int:
    return int(await conn.fetchval(_Q["resets_on_case"], case_id))


@dataclass(frozen=True, slots=True)
class NewCommand:
    command_id: UUID
    device_id: str
    kind: str
    params: JsonObject
    requested_by: str
    requested_key: str
    role: str
    reason: str | None
    ticket_id: int | None
    case_id: int | None
    desired_version: int | None
    created_at: datetime
    expires_at: datetime
    state: str
    result: JsonObject | None


async def insert_command(conn: Connection, new: NewCommand) -> CommandRecord:
    row = await conn.fetchrow(
        _Q["insert_command"], new.command_id, new.device_id, new.kind, json.dumps(new.params), new.requested_by,
        new.requested_key, new.role, new.reason, new.ticket_id, new.case_id, new.desired_version, new.created_at,
        new.expires_at, new.state, None if new.result is None else json.dumps(new.result),
    )  # fmt: skip
    assert row is not None
    return _record(row)


async def update_desired(conn: Connection, device_id: str, change: JsonObject, by: str) -> int:
    """Merge `change` into the desired state; the new version."""
    return int(await conn.fetchval(_Q["update_desired_state"], device_id, json.dumps(change), by))


async def notify(conn: Connection, device_id: str) -> None:
    """Wake the dispatcher (delivered at commit)."""
    await conn.execute(_Q["notify_commands"], device_id)


async def get_command(conn: Connection, command_id: UUID) -> CommandRecord | None:
    row = await conn.fetchrow(_Q["get_command"], command_id)
    return None if row is None else _record(row)


async def device_commands(conn: Connection, device_id: str, limit: int = 50) -> list[CommandRecord]:
    return [_record(r) for r in await conn.fetch(_Q["device_commands"], device_id, limit)]


@dataclass(frozen=True, slots=True)
class Transition:
    transition_id: int
    at: datetime
    from_state: str | None
    to_state: str
    actor: str
    detail: JsonObject | None


async def transitions(conn: Connection, command_id: UUID) -> list[Transition]:
    rows = await conn.fetch(_Q["command_transitions"], command_id)
    return [
        Transition(
            r["transition_id"], r["at"], r["from_state"], r["to_state"], r["actor"], _json(r["detail"])
        )
        for r in rows
    ]


async def cancel(conn: Connection, command_id: UUID, by: str) -> CommandRecord | None:
    """Cancel a command the boiler has not taken yet; None when it is past that."""
    row = await conn.fetchrow(_Q["cancel_command"], command_id, by)
    return None if row is None else _record(row)


@dataclass(frozen=True, slots=True)
class Dispatchable:
    command_id: UUID
    device_id: str
    kind: str
    params: JsonObject
    created_at: datetime
    expires_at: datetime
    attempts: int


async def claim_dispatchable(conn: Connection, limit: int, resend_after_s: float) -> list[Dispatchable]:
    """Lock (for this transaction) commands to send now, oldest first per device."""
    rows = await conn.fetch(_Q["claim_dispatchable"], limit, resend_after_s)
    return [_dispatchable(r) for r in rows]


def _dispatchable(r: Row) -> Dispatchable:
    params = _json(r["params"]) or {}
    return Dispatchable(
        r["command_id"], r["device_id"], r["kind"], params, r["created_at"], r["expires_at"], r["attempts"]
    )


async def mark_sent(conn: Connection, command_id: UUID) -> None:
    await conn.execute(_Q["mark_sent"], command_id)


async def expire_due(conn: Connection, result_grace_s: float) -> tuple[int, int]:
    """Expire commands past their time; fail accepted ones whose result never came. (expired, failed)."""
    row = await conn.fetchrow(_Q["expire_due"], result_grace_s)
    assert row is not None
    return int(row["expired"]), int(row["failed"])


@dataclass(frozen=True, slots=True)
class Consent:
    consent_id: int
    device_id: str
    scope: tuple[str, ...]
    granted_by: str
    granted_via: str
    granted_at: datetime
    expires_at: datetime | None


def _consent(row: Row) -> Consent:
    return Consent(row["consent_id"], row["device_id"], tuple(row["scope"]), row["granted_by"], row["granted_via"],
                   row["granted_at"], row["expires_at"])  # fmt: skip


async def grant_consent(
    conn: Connection, device_id: str, scope: list[str], *, by: str, via: str, expires_at: datetime | None
) -> Consent:
    """A new consent replaces any earlier one (the newest active one counts)."""
    await conn.execute(_Q["revoke_consent"], device_id, by)
    row = await conn.fetchrow(_Q["grant_consent"], device_id, scope, by, via, expires_at)
    assert row is not None
    return _consent(row)


async def revoke_consent(conn: Connection, device_id: str, by: str) -> bool:
    return bool(await conn.fetch(_Q["revoke_consent"], device_id, by))


async def active_consent(conn: Connection, device_id: str) -> Consent | None:
    row = await conn.fetchrow(_Q["active_consent"], device_id)
    return None if row is None else _consent(row)


@dataclass(frozen=True, slots=True)
class DesiredState:
    device_id: str
    desired: JsonObject
    version: int
    updated_at: datetime | None
    updated_by: str | None
    reported: JsonObject
    reported_at: datetime | None


async def desired_state(conn: Connection, device_id: str) -> DesiredState | None:
    row = await conn.fetchrow(_Q["desired_state"], device_id)
    if row is None:
        return None
    reported: JsonObject = {}
    for key, column in (
        ("room_c", "reported_room_c"),
        ("flow_c", "reported_flow_c"),
        ("dhw_c", "reported_dhw_c"),
    ):
        if row[column] is not None:
            reported[key] = float(row[column])
    if row["reported_mode"] is not None:
        reported["mode"] = row["reported_mode"]
    return DesiredState(row["device_id"], _json(row["desired"]) or {}, int(row["version"]), row["updated_at"],
                        row["updated_by"], reported, row["last_reading_at"])  # fmt: skip
