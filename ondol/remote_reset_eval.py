"""`ondol eval-resets`: how many lockouts a remote reset would fix, on a simulated fleet.

The fleet's physics (`firmware_sim.physics`) runs a season with planned faults (worn electrodes,
fouled flame rods, leaks, scaling, blocked flues, frozen condensate, unpowered frost) and the odd
lockout of a healthy boiler. Every lockout is a call to the call center. For each one, the product's
own policy (`diagnostics.commands.policy.check`, with the catalog) decides whether an agent may send
a reset; the reset is sent `reset_after` the lockout (the agent reaches the customer, who says there
is no gas smell), and the product's judge (`diagnostics.commands.watch.judge`) concludes it after
the watch window: fixed (the technician visit is cancelled) or recurred (the visit goes ahead).
A boiler "fixed" whose cause was still there locks out again later, which is counted too: a saved
dispatch is a fix that held for `follow` (7 days).

Nothing here talks to a database or a broker: this measures the rules against the physics.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from diagnostics.catalog import Catalog, load_catalog
from diagnostics.commands.policy import CommandContext, CommandRequest, PolicySettings, check
from diagnostics.commands.watch import judge
from firmware_sim.fault_plan import plan_faults
from firmware_sim.fleet import REGIONS, plan_fleet
from firmware_sim.physics import FleetPhysics, SimEvent
from firmware_sim.weather import simulate_weather
from protocol.commands import CommandKind
from telemetry.korean_time import KST

__all__ = ["CodeFigures", "ResetEvalConfig", "ResetReport", "evaluate_resets", "format_resets"]

_RESET: Final = CommandRequest(CommandKind.LOCKOUT_RESET, {}, "agent", False, no_gas_smell_confirmed=True)


@dataclass(frozen=True, slots=True)
class ResetEvalConfig:
    devices: int = 2000
    days: float = 60.0
    seed: int = 1
    start: datetime = datetime(2026, 11, 15, tzinfo=KST)
    fault_share: float = 0.3
    consent_share: float = 1.0
    """Share of customers who granted remote access (the rest are always dispatched)."""
    step: timedelta = timedelta(minutes=10)
    reset_after: timedelta = timedelta(minutes=30)
    watch: timedelta = timedelta(hours=24)
    follow: timedelta = timedelta(days=7)
    repair_after: tuple[timedelta, timedelta] = (timedelta(hours=12), timedelta(hours=48))


@dataclass
class CodeFigures:
    lockouts: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    resets: int = 0
    fixed: int = 0
    recurred: int = 0
    back_later: int = 0
    """Fixed (held for the watch window), then locked out again within `follow`."""

    @property
    def saved(self) -> int:
        return self.fixed - self.back_later


@dataclass(frozen=True, slots=True)
class ResetReport:
    config: ResetEvalConfig
    by_code: dict[str, CodeFigures]
    elapsed_s: float

    def total(self) -> CodeFigures:
        t = CodeFigures()
        for f in self.by_code.values():
            t.lockouts += f.lockouts
            t.refused.update(f.refused)
            t.resets, t.fixed, t.recurred, t.back_later = (
                t.resets + f.resets,
                t.fixed + f.fixed,
                t.recurred + f.recurred,
                t.back_later + f.back_later,
            )
        return t


@dataclass
class _Device:
    consent: bool
    case: int | None = None
    case_code: str = ""
    resets_on_case: int = 0
    last_reset_at: datetime | None = None
    safety_raised_at: datetime | None = None
    watching: tuple[str, datetime] | None = None
    """A reset's code and when it ended, until the watch concludes."""
    fixed_at: tuple[str, datetime] | None = None
    """A fix that held for the watch, and when: a lockout within `follow` makes it a fix that did not last."""


def evaluate_resets(config: ResetEvalConfig, progress: Callable[[str], None] = lambda _: None) -> ResetReport:
    started = time.monotonic()
    catalog = load_catalog()
    safety = frozenset(e.code for e in catalog.entries() if e.safety_critical)
    fleet = plan_fleet(config.devices, seed=config.seed, prefix="rr")
    weather = simulate_weather(
        [r.winter_mean_c for r in REGIONS], start=config.start, days=config.days, seed=config.seed
    )
    faults = plan_faults(
        fleet, weather, start=config.start, days=config.days, seed=config.seed, share=config.fault_share
    )
    physics = FleetPhysics(
        fleet, weather, config.start, config.seed, faults, repair_after=config.repair_after
    )
    rng = random.Random(f"consent:{config.seed}")  # noqa: S311 - a simulation, not a secret
    devices = [_Device(consent=rng.random() < config.consent_share) for _ in fleet]
    figures: dict[str, CodeFigures] = defaultdict(CodeFigures)
    resets_due: list[tuple[datetime, int]] = []
    cases = 0
    end = config.start + timedelta(days=config.days)
    next_note = config.start
    while physics.now < end:
        events = physics.advance(config.step.total_seconds())
        now = physics.now
        for event in events:
            if event.raised:
                cases = _lockout(event, devices[event.device_index], figures, resets_due, now, catalog, safety,
                                 config, cases)  # fmt: skip
        for due, i in [r for r in resets_due if r[0] <= now]:
            resets_due.remove((due, i))
            device = devices[i]
            physics.reset_lockout(i)
            physics.cancel_repair(i)
            device.resets_on_case += 1
            device.last_reset_at = now
            device.watching = (device.case_code, now)
            figures[device.case_code].resets += 1
        for i, device in enumerate(devices):
            _conclude(device, physics, i, figures, now, config)
        if now >= next_note:
            progress(f"{now:%Y-%m-%d}: {sum(f.lockouts for f in figures.values())} lockouts so far")
            next_note += timedelta(days=10)
    return ResetReport(config, dict(sorted(figures.items())), time.monotonic() - started)


def _lockout(
    event: SimEvent, device: _Device, figures: dict[str, CodeFigures], resets_due: list[tuple[datetime, int]],
    now: datetime, catalog: Catalog, safety: frozenset[str], config: ResetEvalConfig, cases: int,
) -> int:  # fmt: skip
    """A boiler locked out: the customer calls. A lockout while a reset is watched means it did not
    hold (same case); one soon after a fix means the fix did not last; else a new case."""
    code = event.code
    if code in safety:
        device.safety_raised_at = now
    if device.watching is not None:
        watched_code, _ = device.watching
        device.watching = None
        figures[watched_code].recurred += 1
        figures[code].lockouts += 1
        figures[code].refused["one_remote_reset_per_case"] += 1  # the same case: the visit goes ahead
        return cases
    if device.fixed_at is not None:
        fixed_code, at = device.fixed_at
        device.fixed_at = None
        if now - at <= config.follow:
            figures[fixed_code].back_later += 1
    cases += 1
    device.case, device.case_code, device.resets_on_case = cases, code, 0
    figures[code].lockouts += 1
    ctx = CommandContext(
        now=now, model="NCB-500", consent_scope=frozenset({"all"}) if device.consent else None, active_codes=(code,),
        safety_raised_at=device.safety_raised_at, open_case_id=cases, resets_on_case=0,
        last_reset_at=device.last_reset_at, recent_commands=0, desired_version=0, safety_codes=safety,
    )  # fmt: skip
    refusal = check(_RESET, ctx, catalog, PolicySettings())
    if refusal is not None:
        figures[code].refused[refusal.rule.value] += 1
    else:
        resets_due.append((now + config.reset_after, _index_of(event)))
    return cases


def _index_of(event: SimEvent) -> int:
    return event.device_index


def _conclude(
    device: _Device, physics: FleetPhysics, i: int, figures: dict[str, CodeFigures], now: datetime,
    config: ResetEvalConfig,
) -> None:  # fmt: skip
    """The product's judge on a watched reset: fixed once the window passes with the boiler running."""
    if device.watching is None:
        if device.fixed_at is not None and now - device.fixed_at[1] > config.follow:
            device.fixed_at = None  # held for the whole follow-up: a dispatch saved
        return
    code, ended = device.watching
    locked = bool(physics.locked[i])
    judged = judge(state="succeeded", ended_at=ended, code=code, code_active=locked, code_raised_at=None, now=now,
                   watch=config.watch, why=None)  # fmt: skip
    if judged is None:
        return
    device.watching = None
    if judged.outcome == "fixed":
        figures[code].fixed += 1
        device.fixed_at = (code, now)
    else:
        figures[code].recurred += 1


def format_resets(report: ResetReport) -> str:
    c = report.config
    rows = [
        f"Remote resets on a simulated fleet: {c.devices:,} boilers, {c.days:g} days from {c.start:%Y-%m-%d}, seed "
        f"{c.seed}, {c.fault_share:.0%} given a fault, {c.consent_share:.0%} with remote-access consent; reset "
        f"{c.reset_after} after the lockout, judged after {c.watch}, followed for {c.follow.days} days. "
        f"{report.elapsed_s:.0f} s.",
        "",
        "| code | lockouts | refused (rule: count) | resets sent | fixed (held for the watch) | recurred in the watch "
        "| fixed, then back within the follow-up | dispatches saved |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for code, f in [*report.by_code.items(), ("all", report.total())]:
        refused = ", ".join(f"{rule}: {n}" for rule, n in f.refused.most_common()) or "—"
        rows.append(f"| {code} | {f.lockouts} | {refused} | {f.resets} | {f.fixed} | {f.recurred} | {f.back_later} "
                    f"| {f.saved} |")  # fmt: skip
    t = report.total()
    share = t.saved / t.lockouts if t.lockouts else 0.0
    rows += ["", f"Share of lockouts closed as fixed remotely and still fixed after {c.follow.days} days: "
             f"{share:.1%} ({t.saved} of {t.lockouts}); dispatches saved: {t.saved}."]  # fmt: skip
    return "\n".join(rows)
