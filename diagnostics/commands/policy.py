"""Whether a command may be sent: pure rules over what the store knows, each refusal naming its rule.

A command can hurt someone. A lockout reset on a boiler that smells of gas, or that locked out for
a safety reason, restarts a burner that should stay off. So the catalog decides which faults may
be reset remotely (`remote_reset`, never a safety-critical code), a reset is tried at most once per
fault case and never twice within 24 h (the catalog's `remote_reset_condition`), never while a
safety-critical code is active or was raised within `safety_quiet_hours`, and only once the agent
has asked the customer about a gas smell. Every command needs the customer's remote-access consent
for that device, unless it is the customer's own change. Roles: agents and technicians send within
their scope; customers change their own setpoints and mode; nobody else sends anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from diagnostics.catalog import Catalog
from protocol.commands import CommandKind, DeviceMode

__all__ = [
    "COLD_WAVE_ROLE",
    "CUSTOMER_KINDS",
    "CUSTOMER_LINK_ROLE",
    "DESIRED_KINDS",
    "CommandContext",
    "CommandRequest",
    "ModelLimits",
    "PolicySettings",
    "Refusal",
    "Rule",
    "check",
    "model_limits",
]


class Rule(StrEnum):
    """Why a command was refused: stable names the API, the console and the audit show."""

    ROLE = "role_may_not_send"
    PARAMS = "invalid_parameters"
    OUT_OF_RANGE = "outside_model_range"
    NOT_SUPPORTED = "model_does_not_support"
    NO_CONSENT = "no_remote_access_consent"
    RATE_LIMIT = "rate_limit"
    NO_LOCKOUT = "no_active_fault_to_reset"
    SAFETY_ACTIVE = "safety_critical_code_active"
    SAFETY_RECENT = "safety_critical_code_recent"
    CATALOG_FORBIDS = "catalog_forbids_remote_reset"
    ONCE_PER_CASE = "one_remote_reset_per_case"
    RESET_WITHIN_24H = "remote_reset_within_24h"
    GAS_SMELL = "gas_smell_not_ruled_out"
    VERSION_CONFLICT = "desired_state_changed"


@dataclass(frozen=True, slots=True)
class Refusal:
    rule: Rule
    detail: str
    status: int
    """The HTTP status the API answers with: 403 not allowed, 409 not now, 422 bad request, 429 too many."""
    subject: str = ""
    """What the rule is about, in no language (codes, a case number, a value): the console words the
    rule itself and shows this beside it."""


CUSTOMER_KINDS: Final = frozenset(
    {CommandKind.SET_CH_SETPOINT, CommandKind.SET_DHW_SETPOINT, CommandKind.SET_MODE}
)
"""What a customer may change on their own boiler."""
DESIRED_KINDS: Final = CUSTOMER_KINDS
"""The kinds that change the device's desired state (and so need its version)."""
STAFF_ROLES: Final = frozenset({"agent", "technician"})
COLD_WAVE_ROLE: Final = "cold_wave"
"""Cold-wave preparation putting an empty home's boiler in frost protection before the cold: that mode
only, with the customer's consent for set_mode, like any remote command."""
CUSTOMER_LINK_ROLE: Final = "customer_link"
"""A customer asking, from their case's link, for the one thing the page offers: a lockout reset. It
needs the customer's consent like any remote command, and every safety rule applies."""


@dataclass(frozen=True, slots=True)
class ModelLimits:
    """What a boiler model accepts: OpenTherm ID 57 (max CH setpoint), the DHW bounds of ID 48, ID 3
    HB6 (automatic filling) and ID 5 HB1 (remote lockout reset)."""

    room_c: tuple[float, float] = (10.0, 30.0)
    flow_c: tuple[float, float] = (30.0, 80.0)
    dhw_c: tuple[float, float] = (35.0, 60.0)
    water_fill: bool = False
    lockout_reset: bool = True


_MODEL_LIMITS: Final = {
    "NCB": ModelLimits(flow_c=(30.0, 80.0), dhw_c=(35.0, 60.0), water_fill=True),
    "KRB": ModelLimits(flow_c=(40.0, 85.0), dhw_c=(35.0, 65.0), water_fill=False),
    "RCB": ModelLimits(flow_c=(30.0, 80.0), dhw_c=(37.0, 60.0), water_fill=True),
    "LCB": ModelLimits(flow_c=(35.0, 80.0), dhw_c=(35.0, 55.0), water_fill=False),
}


def model_limits(model: str | None) -> ModelLimits:
    """The limits of a model by its family prefix (NCB-500 → NCB); conservative defaults (no water
    filling) for a model the table does not know."""
    family = (model or "").split("-", 1)[0].upper()
    return _MODEL_LIMITS.get(family, ModelLimits())


@dataclass(frozen=True, slots=True)
class PolicySettings:
    safety_quiet_hours: float = 24.0
    """No lockout reset within this many hours of a safety-critical code."""
    rate_limit: int = 10
    """Commands per device per `rate_window`; a bug's setpoint storm stops here."""
    rate_window: timedelta = timedelta(minutes=10)
    reset_spacing: timedelta = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class CommandRequest:
    kind: CommandKind
    params: dict[str, float | str]
    role: str
    own_device: bool
    """The caller is a customer of this device (a contact with this phone)."""
    no_gas_smell_confirmed: bool = False
    if_version: int | None = None


@dataclass(frozen=True, slots=True)
class CommandContext:
    """What the store knows of the device when the request comes, read in the request's transaction."""

    now: datetime
    model: str | None
    consent_scope: frozenset[str] | None
    """The kinds the customer's active consent covers (`all` for every kind); None without one."""
    active_codes: tuple[str, ...]
    safety_raised_at: datetime | None
    """The newest time a safety-critical code was raised on this device, if ever."""
    open_case_id: int | None
    resets_on_case: int
    """Lockout resets already sent (not refused, cancelled or expired unsent) for the open case."""
    last_reset_at: datetime | None
    recent_commands: int
    """Commands queued for this device within the rate window (refusals not counted)."""
    desired_version: int
    safety_codes: frozenset[str] = field(default_factory=frozenset)


def check(
    request: CommandRequest, ctx: CommandContext, catalog: Catalog, settings: PolicySettings
) -> Refusal | None:
    """The first rule the request breaks, or None when it may be sent. Order: who may ask, what is
    asked, whether the customer agreed, whether it is safe now, how often."""
    for rule in (_role, _params, _consent, _reset_safety, _rate, _version):
        refusal = rule(request, ctx, catalog, settings)
        if refusal is not None:
            return refusal
    return None


def _role(request: CommandRequest, ctx: CommandContext, _c: Catalog, _s: PolicySettings) -> Refusal | None:
    if request.role in STAFF_ROLES:
        return None
    if request.role == "customer" and request.own_device and request.kind in CUSTOMER_KINDS:
        return None
    if (
        request.role == CUSTOMER_LINK_ROLE
        and request.own_device
        and request.kind is CommandKind.LOCKOUT_RESET
    ):
        return None
    if (
        request.role == COLD_WAVE_ROLE
        and request.kind is CommandKind.SET_MODE
        and request.params.get("mode") == DeviceMode.FROST_PROTECTION.value
    ):
        return None
    if request.role == "customer" and request.own_device:
        return Refusal(
            Rule.ROLE, f"a customer may change setpoints and mode only, not {request.kind.value}", 403
        )
    return Refusal(Rule.ROLE, f"the {request.role} role sends no commands", 403)


def _number(params: dict[str, float | str], name: str) -> float | None:
    value = params.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _params(request: CommandRequest, ctx: CommandContext, _c: Catalog, _s: PolicySettings) -> Refusal | None:
    limits = model_limits(ctx.model)
    p = request.params
    kind = request.kind
    if kind is CommandKind.SET_CH_SETPOINT:
        if set(p) not in ({"room_c"}, {"flow_c"}):
            return Refusal(Rule.PARAMS, "set_ch_setpoint takes exactly one of room_c or flow_c (°C)", 422)
        name = next(iter(p))
        return _within(
            name, _number(p, name), limits.room_c if name == "room_c" else limits.flow_c, ctx.model
        )
    if kind is CommandKind.SET_DHW_SETPOINT:
        if set(p) != {"dhw_c"}:
            return Refusal(Rule.PARAMS, "set_dhw_setpoint takes dhw_c (°C)", 422)
        return _within("dhw_c", _number(p, "dhw_c"), limits.dhw_c, ctx.model)
    if kind is CommandKind.SET_MODE:
        modes = [m.value for m in DeviceMode]
        if set(p) != {"mode"} or p["mode"] not in modes:
            return Refusal(Rule.PARAMS, f"set_mode takes mode, one of {', '.join(modes)}", 422)
        return None
    if p:
        return Refusal(Rule.PARAMS, f"{kind.value} takes no parameters", 422)
    if kind is CommandKind.WATER_FILL and not limits.water_fill:
        return Refusal(Rule.NOT_SUPPORTED, f"model {ctx.model or 'unknown'} has no automatic filling", 409)
    if kind is CommandKind.LOCKOUT_RESET and not limits.lockout_reset:
        return Refusal(Rule.NOT_SUPPORTED, f"model {ctx.model or 'unknown'} accepts no remote reset", 409)
    return None


def _within(name: str, value: float | None, bounds: tuple[float, float], model: str | None) -> Refusal | None:
    if value is None:
        return Refusal(Rule.PARAMS, f"{name} must be a number (°C)", 422)
    low, high = bounds
    if not low <= value <= high:
        return Refusal(
            Rule.OUT_OF_RANGE,
            f"{name} {value:g} °C is outside {low:g}–{high:g} °C for model {model or 'unknown'}",
            422,
        )
    return None


def _consent(request: CommandRequest, ctx: CommandContext, _c: Catalog, _s: PolicySettings) -> Refusal | None:
    if request.role == "customer" and request.own_device:
        return None  # the customer's own change
    scope = ctx.consent_scope
    if scope is None:
        return Refusal(Rule.NO_CONSENT, "the customer has not granted remote access to this boiler", 403)
    if "all" not in scope and request.kind.value not in scope:
        return Refusal(Rule.NO_CONSENT, f"the customer's consent does not cover {request.kind.value}", 403)
    return None


def _reset_safety(request: CommandRequest, ctx: CommandContext, catalog: Catalog, settings: PolicySettings) -> Refusal | None:  # fmt: skip
    if request.kind is not CommandKind.LOCKOUT_RESET:
        return None
    if not ctx.active_codes or ctx.open_case_id is None:
        return Refusal(Rule.NO_LOCKOUT, "the boiler reports no active fault with an open case", 409)
    safety = sorted(c for c in ctx.active_codes if c in ctx.safety_codes)
    if safety:
        detail = f"safety-critical {', '.join(safety)} is active: never reset remotely"
        return Refusal(Rule.SAFETY_ACTIVE, detail, 409, ", ".join(safety))
    quiet = timedelta(hours=settings.safety_quiet_hours)
    if ctx.safety_raised_at is not None and ctx.now - ctx.safety_raised_at < quiet:
        return Refusal(
            Rule.SAFETY_RECENT,
            f"a safety-critical code was raised at {ctx.safety_raised_at.isoformat()}, within "
            f"{settings.safety_quiet_hours:g} h",
            409,
        )
    for code in ctx.active_codes:
        entry = catalog.get(code)
        if entry is None or not entry.remote_reset:
            return Refusal(Rule.CATALOG_FORBIDS, f"the catalog allows no remote reset for {code}", 409, code)
    if ctx.resets_on_case > 0:
        detail = f"a remote reset was already tried on case {ctx.open_case_id}"
        return Refusal(Rule.ONCE_PER_CASE, detail, 409, f"#{ctx.open_case_id}")
    if ctx.last_reset_at is not None and ctx.now - ctx.last_reset_at < settings.reset_spacing:
        return Refusal(
            Rule.RESET_WITHIN_24H, f"the last remote reset was at {ctx.last_reset_at.isoformat()}", 409
        )
    if not request.no_gas_smell_confirmed:
        return Refusal(
            Rule.GAS_SMELL,
            "ask the customer whether there is a gas smell or a CO alarm; reset only on a no",
            409,
        )
    return None


def _rate(
    request: CommandRequest, ctx: CommandContext, _c: Catalog, settings: PolicySettings
) -> Refusal | None:
    if ctx.recent_commands >= settings.rate_limit:
        window = settings.rate_window.total_seconds() / 60
        return Refusal(
            Rule.RATE_LIMIT, f"{ctx.recent_commands} commands for this boiler in {window:g} min", 429
        )
    return None


def _version(request: CommandRequest, ctx: CommandContext, _c: Catalog, _s: PolicySettings) -> Refusal | None:
    if request.kind not in DESIRED_KINDS:
        return None
    if request.if_version is None:
        return Refusal(
            Rule.PARAMS, f"send if_version (the desired-state version you saw: {ctx.desired_version})", 422
        )
    if request.if_version != ctx.desired_version:
        return Refusal(
            Rule.VERSION_CONFLICT,
            f"the desired state is at version {ctx.desired_version}, not {request.if_version}: someone changed it",
            409,
        )
    return None
