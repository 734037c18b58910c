"""Which simulated boilers develop which fault, when, and how fast: the ground truth of an evaluation.

Each fault has an onset and a severity. For the slow faults the severity is the ramp: the days the
wear takes from onset to its design limit, where the boiler's own protection is certain to trip. The
device-reported code the fault ends in is emitted by the physics when the protection trips, not
scheduled here, so the time of failure is an outcome of the simulation (weather, load, chance).

The simulator knows codes only as the wire contract does; which family a code belongs to is the
platform's business. `HARD_CODES` lists what each fault ends in.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from firmware_sim.fleet import REGIONS, SimDevice
from firmware_sim.weather import Weather

__all__ = ["HARD_CODES", "SLOW_FAULTS", "FaultKind", "PlannedFault", "plan_faults"]


class FaultKind(StrEnum):
    LEAK = "leak"
    """Water leaks from the heating circuit: pressure decays (sealed) or refills come closer (open tank)."""
    ELECTRODE_WEAR = "electrode_wear"
    """The ignition electrode wears: more trials fail, the flame current at light-off falls."""
    FLAME_ROD_FOULING = "flame_rod_fouling"
    """The flame rod fouls: the flame current falls until the flame can no longer be proven."""
    SCALING = "scaling"
    """Scale on the heat exchanger: flue runs hotter than the return, efficiency falls, then overheat."""
    CIRCULATION_LOSS = "circulation_loss"
    """The pump or a clogged filter moves less water: the flow-return spread widens."""
    FLUE_BLOCKAGE = "flue_blockage"
    """The air or flue path narrows: the fan spins faster for the same modulation."""
    CONDENSATE_FREEZE = "condensate_freeze"
    """An exposed condensate pipe: in frost, ice backs condensate up into the flue within hours."""
    UNPOWERED_FROST = "unpowered_frost"
    """The boiler is switched off or unplugged while it freezes outside: its water can freeze."""


SLOW_FAULTS: Final = frozenset({
    FaultKind.LEAK, FaultKind.ELECTRODE_WEAR, FaultKind.FLAME_ROD_FOULING, FaultKind.SCALING,
    FaultKind.CIRCULATION_LOSS, FaultKind.FLUE_BLOCKAGE,
})  # fmt: skip
"""Faults that build over days or weeks; the other two build over hours."""

HARD_CODES: Final[dict[FaultKind, tuple[str, ...]]] = {
    FaultKind.LEAK: ("E002", "E228"),  # sealed loop: low pressure; open tank: too many refills
    FaultKind.ELECTRODE_WEAR: ("E003",),
    FaultKind.FLAME_ROD_FOULING: ("E012",),
    FaultKind.SCALING: ("E016",),
    FaultKind.CIRCULATION_LOSS: ("E022",),
    FaultKind.FLUE_BLOCKAGE: ("E110",),
    FaultKind.CONDENSATE_FREEZE: ("E025",),
    FaultKind.UNPOWERED_FROST: ("E201",),  # raised when power returns to frozen water
}

_WARMUP: Final = timedelta(days=14)
"""No fault starts in the first two weeks: the detectors learn each boiler's normal first."""
_FROST_C: Final = -3.0


@dataclass(frozen=True, slots=True)
class PlannedFault:
    device_id: str
    kind: FaultKind
    onset: datetime
    ramp: timedelta
    """Slow faults: onset to design limit. Condensate freeze: unused. Unpowered: how long it stays off."""
    exposure: float = 0.0
    """Condensate freeze: how exposed the pipe is (0.5–1)."""


def plan_faults(
    devices: Sequence[SimDevice],
    weather: Weather,
    *,
    start: datetime,
    days: float,
    seed: int,
    share: float = 0.3,
    kinds: Sequence[FaultKind] = tuple(FaultKind),
) -> list[PlannedFault]:
    """Give about `share` of the devices one fault each, kinds drawn evenly; deterministic by seed."""
    if not 0 <= share <= 1:
        raise ValueError("share must be between 0 and 1")
    rng = random.Random(f"faults:{seed}")
    end = start + timedelta(days=days)
    region_index = {region.code: i for i, region in enumerate(REGIONS)}
    planned = []
    for device in devices:
        if rng.random() >= share:
            continue
        kind = kinds[rng.randrange(len(kinds))]
        fault = _plan_one(rng, device, kind, weather, region_index[device.region.code], start, end)
        if fault is not None:
            planned.append(fault)
    return planned


def _plan_one(
    rng: random.Random, device: SimDevice, kind: FaultKind, weather: Weather, region: int,
    start: datetime, end: datetime,
) -> PlannedFault | None:  # fmt: skip
    earliest = start + _WARMUP
    latest = end - timedelta(days=5)
    if latest <= earliest:
        return None
    if kind in SLOW_FAULTS:
        onset = _uniform_time(rng, earliest, latest)
        return PlannedFault(device.device_id, kind, onset, timedelta(days=rng.uniform(20, 60)))
    if kind is FaultKind.CONDENSATE_FREEZE:
        onset = _uniform_time(rng, earliest, latest)
        return PlannedFault(device.device_id, kind, onset, timedelta(0), exposure=rng.uniform(0.5, 1.0))
    frosty = [h for h in range(weather.hours) if weather.hourly[region][h] <= _FROST_C
              and earliest <= weather.start + timedelta(hours=h) <= latest]  # fmt: skip
    if not frosty:
        return None  # a region without frost in the window cannot have this fault
    onset = weather.start + timedelta(hours=frosty[rng.randrange(len(frosty))])
    return PlannedFault(device.device_id, kind, onset, timedelta(hours=rng.uniform(24, 96)))


def _uniform_time(rng: random.Random, low: datetime, high: datetime) -> datetime:
    return low + timedelta(seconds=rng.uniform(0, (high - low).total_seconds()))
