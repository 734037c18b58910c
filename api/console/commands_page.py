"""The device page's remote-care panel: desired and reported state, the commands the signed-in role
may send (and, for each one it may not, the rule that stops it), and the command history.

Sending goes through the same decision as the API (diagnostics.commands.service), so the console
cannot do what the API would refuse; a refusal is shown with its rule, and recorded like any other.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse

from api.access import Principal, Role, ensure_device_visible
from api.console.i18n import Translator, language_of
from api.console.rendering import render
from api.console.sign_in import ConsoleAllow, ConsoleSession
from api.dependencies import DbConnection
from api.device_overview import device_not_found
from api.record_audit import record
from diagnostics.commands import service
from diagnostics.commands import store as command_store
from diagnostics.commands.policy import CommandRequest, PolicySettings
from protocol.commands import CommandKind
from protocol.contract import DEVICE_ID_PATTERN
from telemetry.database import Connection

__all__ = ["commands_context", "router"]

router = APIRouter(prefix="/console/devices", include_in_schema=False)

Reader = Annotated[ConsoleSession, Depends(ConsoleAllow(Role.ADMIN, Role.AGENT, Role.TECHNICIAN))]
DeviceId = Annotated[str, Path(pattern=DEVICE_ID_PATTERN)]
HISTORY_SHOWN: Final = 20


def _requester(principal: Principal) -> service.Requester:
    return service.Requester(principal.label, principal.key_id, principal.role.value, own_device=False)


async def commands_context(
    conn: Connection, principal: Principal, device_id: str, settings: PolicySettings
) -> dict[str, Any]:
    """What the panel shows: the desired state, the options with their reasons, the history."""
    state = await command_store.desired_state(conn, device_id)
    options = await service.options(conn, device_id, _requester(principal), settings) or []
    history = await command_store.device_commands(conn, device_id, HISTORY_SHOWN)
    differs = (
        {k for k, v in state.desired.items() if k in state.reported and state.reported[k] != v}
        if state
        else set()
    )
    return {
        "state": state, "differs": differs, "history": history, "ticket_id": None,
        "options": {kind.value: refusal for kind, refusal in options},
    }  # fmt: skip


@router.get("/{device_id}/commands", response_class=HTMLResponse)
async def commands_panel(
    request: Request, conn: DbConnection, session: Reader, device_id: DeviceId
) -> HTMLResponse:
    await ensure_device_visible(conn, session.principal, device_id, device_not_found(device_id))
    context = await commands_context(conn, session.principal, device_id, request.app.state.command_policy)
    return render(request, "device_commands.html", {"device_id": device_id, "message": None, **context})


@router.post("/{device_id}/commands", response_class=HTMLResponse)
async def send_command(
    request: Request,
    conn: DbConnection,
    session: Reader,
    device_id: DeviceId,
    kind: Annotated[CommandKind, Form()],
    if_version: Annotated[int | None, Form()] = None,
    room_c: Annotated[float | None, Form()] = None,
    dhw_c: Annotated[float | None, Form()] = None,
    mode: Annotated[str | None, Form(max_length=40)] = None,
    no_gas_smell: Annotated[bool, Form()] = False,
    ticket_id: Annotated[int | None, Form(ge=1)] = None,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> HTMLResponse:
    """Send one command from the panel; the panel comes back with what happened (201 sent, or the
    refusal's status with its rule in the page's language)."""
    principal = session.principal
    await ensure_device_visible(conn, principal, device_id, device_not_found(device_id))
    params: dict[str, float | str] = {}
    if kind is CommandKind.SET_CH_SETPOINT and room_c is not None:
        params["room_c"] = room_c
    elif kind is CommandKind.SET_DHW_SETPOINT and dhw_c is not None:
        params["dhw_c"] = dhw_c
    elif kind is CommandKind.SET_MODE and mode:
        params["mode"] = mode
    ask = CommandRequest(kind=kind, params=params, role=principal.role.value, own_device=False,
                         no_gas_smell_confirmed=no_gas_smell, if_version=if_version)  # fmt: skip
    settings: PolicySettings = request.app.state.command_policy
    async with conn.transaction():
        outcome = await service.request_command(
            conn, device_id, ask, _requester(principal), reason=reason.strip() or None, ticket_id=ticket_id,
            ttl=timedelta(seconds=request.app.state.command_default_ttl_s), settings=settings,
        )  # fmt: skip
        await record(conn, principal, "change", "command", [device_id])
    say = Translator(language_of(request))
    if outcome.refusal is not None:
        rule = say(f"rule.{outcome.refusal.rule.value}")
        subject = f" ({outcome.refusal.subject})" if outcome.refusal.subject else ""
        message = {"ok": False, "text": say("commands.refused", rule=rule) + subject}
        status = outcome.refusal.status
    else:
        message = {"ok": True, "text": say("commands.sent", kind=say(f"command.{kind.value}"))}
        status = 201
    context = await commands_context(conn, principal, device_id, settings)
    return render(request, "device_commands.html", {"device_id": device_id, "message": message, **context},
                  status=status)  # fmt: skip
