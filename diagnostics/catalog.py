"""The error-code catalog: what each device code (`E###`) and platform advisory (`A##`) means, what
the customer can do, and what Ondol does about it.

The catalog is a reviewed data file (`error_codes.toml`, our own words built from the domain
research); loading validates every entry, so a code without a dispatch policy, a self-fixable code
without steps, or a safety-critical code that allows a remote reset stops the worker at start-up
instead of surprising it at 3 a.m. during a cold wave. A safety-critical code has no self-fix steps:
the catalog is the one source the console, the API and the customer's messages read them from.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = [
    "Catalog",
    "CatalogEntry",
    "CatalogError",
    "Category",
    "Dispatch",
    "Lockout",
    "SelfFix",
    "Severity",
    "load_catalog",
]

CODE_PATTERN: Final = r"^(E[0-9]{3}|A[0-9]{2})$"


class CatalogError(ValueError):
    """The catalog file is invalid; the message names the code and the rule."""


class Category(StrEnum):
    IGNITION_FLAME = "ignition_flame"
    GAS_SUPPLY = "gas_supply"
    OVERHEAT = "overheat"
    WATER_FLOW = "water_flow"
    WATER_PRESSURE = "water_pressure"
    FAN_AIR_FLUE = "fan_air_flue"
    CONDENSATE = "condensate"
    SENSOR = "sensor"
    COMMUNICATION = "communication"
    ELECTRICAL_PCB = "electrical_pcb"
    FREEZE = "freeze"
    MAINTENANCE = "maintenance"


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Lockout(StrEnum):
    """How the boiler stops: from nothing to a lockout that only a technician can clear."""

    NONE = "none"
    WARNING = "warning"
    BLOCKING = "blocking"
    """Stops while the condition lasts and restarts by itself when it clears."""
    MANUAL_RESET = "manual_reset"
    """Stops until someone resets it (power cycle, reset button or remote reset)."""
    HARD = "hard"
    """A part must be replaced before it can run again (e.g. thermal fuse)."""


class SelfFix(StrEnum):
    NO = "no"
    PARTIAL = "partial"
    YES = "yes"


class Dispatch(StrEnum):
    """What the platform does when the code is raised."""

    NEVER = "never"
    """Inform and guide the customer; no technician."""
    IF_RECURS = "if_recurs"
    """Guide the customer first; a recurrence within 24 h, or no clearing in time, opens an A/S ticket."""
    ALWAYS = "always"
    """Open an A/S ticket at once."""
    EMERGENCY_FIRST = "emergency_first"
    """Life safety: tell every contact to call the city-gas company or 119 now; urgent ticket."""
    SCHEDULED = "scheduled"
    """No urgency: a planned visit, at the next inspection or soon."""


Text = Annotated[str, StringConstraints(min_length=1, max_length=600, strip_whitespace=True)]


class Bilingual(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ko: Text
    en: Text


class Steps(BaseModel):
    """Self-fix steps a customer (or an agent reading them out) can follow, in order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ko: tuple[Text, ...] = ()
    en: tuple[Text, ...] = ()

    @model_validator(mode="after")
    def _same_length(self) -> Steps:
        if len(self.ko) != len(self.en):
            raise ValueError("Korean and English steps must match one to one")
        return self


class CatalogEntry(BaseModel):
    """One code and its policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
    display: Annotated[str, StringConstraints(min_length=1, max_length=8)]
    """What the room thermostat shows (Korean controllers show two digits, e.g. "03")."""
    name: Bilingual
    customer_text: Bilingual
    """What the customer is told the code means, in plain words."""
    category: Category
    severity: Severity
    safety_critical: bool
    lockout: Lockout
    self_fix: SelfFix
    steps: Steps = Steps()
    remote_reset: bool
    """Whether one remote reset may be tried (never for safety-critical codes)."""
    remote_reset_condition: Text | None = None
    dispatch: Dispatch
    likely_parts: tuple[Text, ...] = ()
    causes: tuple[Text, ...] = Field(min_length=1)
    origin: Annotated[
        str, StringConstraints(pattern=r"^(maker_reported|platform_assigned|platform_analytic)$")
    ]
    confidence: Annotated[str, StringConstraints(pattern=r"^(high|medium|low)$")]

    @property
    def family(self) -> str:
        """Fault family: one open ticket per device and family."""
        return self.category.value

    @property
    def advisory(self) -> bool:
        """Derived by the platform from telemetry, not reported by the device."""
        return self.code.startswith("A")

    @model_validator(mode="after")
    def _policy_is_coherent(self) -> CatalogEntry:
        if self.self_fix is not SelfFix.NO and not self.steps.ko:
            raise ValueError("a code the customer can (partly) fix needs self-fix steps")
        if self.safety_critical and self.remote_reset:
            raise ValueError("a safety-critical code never allows a remote reset")
        if self.safety_critical and (self.self_fix is not SelfFix.NO or self.steps.ko or self.steps.en):
            # Steps are read out by agents and sent to customers; for a fault that can endanger life
            # every such step (restarting, unplugging) is a reset by hand. The customer text says what
            # to do for their safety; the steps stay empty everywhere.
            raise ValueError("a safety-critical code has no self-fix steps (self_fix = 'no', no steps)")
        if self.dispatch is Dispatch.EMERGENCY_FIRST and not self.safety_critical:
            raise ValueError("an emergency-first code must be safety-critical")
        if self.dispatch is Dispatch.IF_RECURS and self.self_fix is SelfFix.NO:
            raise ValueError("'if_recurs' means the customer is guided first, so it needs self-fix steps")
        return self


class Catalog:
    """All entries by code."""

    def __init__(self, entries: list[CatalogEntry]) -> None:
        self._by_code: dict[str, CatalogEntry] = {}
        for entry in entries:
            if entry.code in self._by_code:
                raise CatalogError(f"code {entry.code} appears twice")
            self._by_code[entry.code] = entry

    def get(self, code: str) -> CatalogEntry | None:
        return self._by_code.get(code)

    def __getitem__(self, code: str) -> CatalogEntry:
        return self._by_code[code]

    def __len__(self) -> int:
        return len(self._by_code)

    def entries(self) -> list[CatalogEntry]:
        return sorted(self._by_code.values(), key=lambda e: e.code)

    def codes(self) -> list[str]:
        return sorted(self._by_code)


def parse_catalog(text: str, source: str = "error_codes.toml") -> Catalog:
    """Validate a catalog document; raise CatalogError naming the offending code."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: {exc}") from exc
    raw = document.get("code")
    if not isinstance(raw, list) or not raw:
        raise CatalogError(f"{source}: expected [[code]] tables")
    entries = []
    for item in raw:
        try:
            entries.append(CatalogEntry.model_validate(item))
        except ValueError as exc:
            label = item.get("code", "?") if isinstance(item, dict) else "?"
            raise CatalogError(f"{source}: code {label}: {exc}") from exc
    return Catalog(entries)


@cache
def load_catalog() -> Catalog:
    """The project's catalog, validated once per process."""
    text = (resources.files("diagnostics") / "error_codes.toml").read_text(encoding="utf-8")
    return parse_catalog(text)
