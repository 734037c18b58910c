"""Commands to boilers: ask for one, follow it, cancel it; the customer's remote-access consent; the
device's desired and reported state; which commands the caller may send now and why not.

Every request is decided by diagnostics/commands' policy and recorded, refusals too (state
`rejected`, with the rule): the command history is the access log of commands. A refusal answers
with the rule as the problem's type and the refused command's id as its subject.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Request, Response

from api.access import Principal, Role, allow, ensure_device_visible
from api.dependencies import DbConnection
from api.problems import ProblemError, problem_responses
from api.record_audit import record
from api.schemas.commands import (
    CommandIn,
    CommandOption,
    CommandOptions,
    CommandOut,
    ConsentIn,
    ConsentOut,
    DesiredStateOut,
    TransitionOut,
)
from diagnostics.commands import service
from diagnostics.commands import store as command_store
from diagnostics.commands.policy import CommandRequest, PolicySettings, Refusal
from protocol.contract import DEVICE_ID_PATTERN

__all__ = ["router"]

router = APIRouter(tags=["commands"])

DeviceId = Annotated[str, Path(pattern=DEVICE_ID_PATTERN, description="The device's id.")]
Sender = Annotated[Principal, allow(Role.AGENT, Role.TECHNICIAN, Role.CUSTOMER)]
Reader = Annotated[Principal, allow(Role.ADMIN, Role.AGENT, Role.TECHNICIAN, Role.CUSTOMER)]
ConsentGiver = Annotated[Principal, allow(Role.AGENT, Role.CUSTOMER)]


def _no_device(device_id: str) -> ProblemError:
    return ProblemError(404, "device-not-found", f"No device {device_id!r}.", subject=device_id)


def _no_command(command_id: UUID) -> ProblemError:
    return ProblemError(404, "command-not-found", f"No command {command_id}.", subject=str(command_id))


def _requester(caller: Principal) -> service.Requester:
    return service.Requester(
        caller.label, caller.key_id, caller.role.value, own_device=caller.role is Role.CUSTOMER
    )


def _out(
    command: command_store.CommandRecord, transitions: list[command_store.Transition] | None = None
) -> CommandOut:
    out = CommandOut.model_validate(command, from_attributes=True)
    if transitions:
        out.transitions = [TransitionOut.model_validate(t, from_attributes=True) for t in transitions]
    return out


@router.post(
    "/v1/devices/{device_id}/commands", status_code=201, response_model=CommandOut,
    responses=problem_responses(403, 404, 409, 422, 429),
)  # fmt: skip
async def send_command(
    conn: DbConnection,
    caller: Sender,
    device_id: DeviceId,
    body: CommandIn,
    request: Request,
    response: Response,
) -> CommandOut:
    """Ask for a command (201, queued for the boiler). A refusal is recorded too and answered with
    its rule: 403 (role, consent), 409 (not safe or not possible now, desired state changed), 422
    (parameters, range), 429 (rate limit)."""
    await ensure_device_visible(conn, caller, device_id, _no_device(device_id))
    settings: PolicySettings = request.app.state.command_policy
    ttl = timedelta(seconds=body.ttl_s or request.app.state.command_default_ttl_s)
    ask = CommandRequest(
        kind=body.kind, params=body.params, role=caller.role.value, own_device=caller.role is Role.CUSTOMER,
        no_gas_smell_confirmed=body.no_gas_smell_confirmed, if_version=body.if_version,
    )  # fmt: skip
    async with conn.transaction():
        outcome = await service.request_command(
            conn, device_id, ask, _requester(caller), reason=body.reason, ticket_id=body.ticket_id, ttl=ttl,
            settings=settings,
        )  # fmt: skip
        await record(conn, caller, "change", "command", [device_id])
    if outcome.command is None:
        raise _no_device(device_id)
    if outcome.refusal is not None:
        raise ProblemError(
            outcome.refusal.status, outcome.refusal.rule.value.replace("_", "-"), outcome.refusal.detail,
            title="Command refused", subject=str(outcome.command.command_id),
        )  # fmt: skip
    response.headers["Location"] = f"/v1/commands/{outcome.command.command_id}"
    return _out(outcome.command)


@router.get(
    "/v1/devices/{device_id}/commands", response_model=list[CommandOut], responses=problem_responses(404)
)
async def device_commands(conn: DbConnection, caller: Reader, device_id: DeviceId) -> list[CommandOut]:
    """The device's commands, newest first (refusals included): its remote-change log."""
    await ensure_device_visible(conn, caller, device_id, _no_device(device_id))
    commands = await command_store.device_commands(conn, device_id)
    await record(conn, caller, "view", "command", [device_id])
    return [_out(c) for c in commands]


@router.get("/v1/commands/{command_id}", response_model=CommandOut, responses=problem_responses(404))
async def get_command(conn: DbConnection, caller: Reader, command_id: UUID) -> CommandOut:
    """One command with every state it went through."""
    command = await command_store.get_command(conn, command_id)
    if command is None:
        raise _no_command(command_id)
    await ensure_device_visible(conn, caller, command.device_id, _no_command(command_id))
    return _out(command, await command_store.transitions(conn, command_id))


@router.post(
    "/v1/commands/{command_id}/cancel", response_model=CommandOut, responses=problem_responses(404, 409)
)
async def cancel_command(conn: DbConnection, caller: Sender, command_id: UUID) -> CommandOut:
    """Cancel a command the boiler has not taken yet (409 once it has, or once it ended)."""
    command = await command_store.get_command(conn, command_id)
    if command is None:
        raise _no_command(command_id)
    await ensure_device_visible(conn, caller, command.device_id, _no_command(command_id))
    async with conn.transaction():
        cancelled = await command_store.cancel(conn, command_id, caller.label)
        await record(conn, caller, "change", "command", [command.device_id])
    if cancelled is None:
        raise ProblemError(409, "command-not-cancellable", f"Command {command_id} is {command.state}; too late to cancel.",
                           subject=str(command_id))  # fmt: skip
    return _out(cancelled, await command_store.transitions(conn, command_id))


@router.get(
    "/v1/devices/{device_id}/command-options", response_model=CommandOptions, responses=problem_responses(404)
)
async def command_options(
    conn: DbConnection, caller: Sender, device_id: DeviceId, request: Request
) -> CommandOptions:
    """Which commands the caller may send to this boiler now, and for the others the rule that stops them."""
    await ensure_device_visible(conn, caller, device_id, _no_device(device_id))
    found = await service.options(conn, device_id, _requester(caller), request.app.state.command_policy)
    if found is None:
        raise _no_device(device_id)
    options = [
        CommandOption(kind=kind, available=refusal is None, reason=_why(refusal)) for kind, refusal in found
    ]
    return CommandOptions(device_id=device_id, options=options)


def _why(refusal: Refusal | None) -> str | None:
    return None if refusal is None else f"{refusal.rule.value}: {refusal.detail}"


@router.get(
    "/v1/devices/{device_id}/desired-state", response_model=DesiredStateOut, responses=problem_responses(404)
)
async def desired_state(conn: DbConnection, caller: Reader, device_id: DeviceId) -> DesiredStateOut:
    """Desired setpoints and mode (with the version a change must name) beside what the boiler reports."""
    await ensure_device_visible(conn, caller, device_id, _no_device(device_id))
    state = await command_store.desired_state(conn, device_id)
    if state is None:
        raise _no_device(device_id)
    differs = sorted(k for k, v in state.desired.items() if k in state.reported and state.reported[k] != v)
    return DesiredStateOut(device_id=device_id, version=state.version, desired=state.desired, reported=state.reported,
                           reported_at=state.reported_at, differs=differs)  # fmt: skip


@router.put(
    "/v1/devices/{device_id}/remote-consent", response_model=ConsentOut, responses=problem_responses(404, 422)
)
async def grant_consent(
    conn: DbConnection, caller: ConsentGiver, device_id: DeviceId, body: ConsentIn
) -> ConsentOut:
    """The customer grants remote access (scoped to kinds of command, optionally until a time); an
    agent may record consent the customer gave on the phone, marked as given on the customer's behalf."""
    await ensure_device_visible(conn, caller, device_id, _no_device(device_id))
    if caller.role is Role.AGENT and not body.on_behalf_of_customer:
        raise ProblemError(422, "consent-is-the-customers", "Only the customer consents; an agent sets "
                           "on_behalf_of_customer to record what the customer said.")  # fmt: skip
    via = "customer" if caller.role is Role.CUSTOMER else "agent_on_behalf"
    async with conn.transaction():
        consent = await command_store.grant_consent(
            conn,
            device_id,
            [str(s) for s in body.scope],
            by=caller.label,
            via=via,
            expires_at=body.expires_at,
        )
        await record(conn, caller, "change", "remote-consent", [device_id])
    return ConsentOut.model_validate(consent, from_attributes=True)


@router.delete("/v1/devices/{device_id}/remote-consent", status_code=204, responses=problem_responses(404))
async def revoke_consent(conn: DbConnection, caller: ConsentGiver, device_id: DeviceId) -> Response:
    """Revoke remote access (queued commands stay; new ones are refused)."""
    await ensure_device_visible(conn, caller, device_id, _no_device(device_id))
    async with conn.transaction():
        await command_store.revoke_consent(conn, device_id, caller.label)
        await record(conn, caller, "change", "remote-consent", [device_id])
    return Response(status_code=204)


@router.get(
    "/v1/devices/{device_id}/remote-consent",
    response_model=ConsentOut | None,
    responses=problem_responses(404),
)
async def get_consent(conn: DbConnection, caller: Reader, device_id: DeviceId) -> ConsentOut | None:
    """The active consent, or null."""
    await ensure_device_visible(conn, caller, device_id, _no_device(device_id))
    consent = await command_store.active_consent(conn, device_id)
    return None if consent is None else ConsentOut.model_validate(consent, from_attributes=True)
