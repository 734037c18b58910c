"""Fast frost faults, judged over the last hours: a silent boiler in frost (A04) and a condensate pipe
freezing (A12).

- A boiler that went silent (no report for `silent_after`) while its region is below freezing may be
  unplugged or switched off; without power its freeze protection cannot run. The region's temperature
  comes from the other boilers there (their outdoor sensors), since the silent one cannot say.
- A condensate pipe freezing backs condensate up into the flue: the fan has to spin faster for the
  same modulation within hours. Each sample's fan speed is compared with the line (fan speed against
  modulation) the same boiler drew on its newest fitted day of the last two weeks, so a cold wave's
  higher load is not a trend; only frost hours are examined. A narrowing flue also raises the ratio,
  but slowly: the ratio must exceed what a flue could have gained since the line was drawn, or have
  risen within the window.

Pure functions over rows the store returns; `diagnostics.predictive.jobs` runs them on a schedule.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from diagnostics.predictive.robust_stats import median, theil_sen
from diagnostics.predictive.trends import Finding
from telemetry.health_features import FrostSample, SilentDevice
from telemetry.korean_time import kst_day

__all__ = ["FrostConfig", "condensate_freezing", "silent_in_frost"]

_HOUSE_TIME_CONSTANT_H: Final = 30.0
"""A rough cooling model for the ETA: a Korean apartment loses its heat over about a day, and the
boiler (often on a veranda) sits between the room and outdoor temperature."""


@dataclass(frozen=True, slots=True)
class FrostConfig:
    silent_after: timedelta = timedelta(hours=2)
    """Longer than a Wi-Fi hiccup, far shorter than heating water takes to freeze."""
    frost_c: float = -1.0
    """The region's median outdoor temperature at or below which a silent boiler is at risk."""
    condensate_ratio: float = 1.08
    """Fan speed this far above the boiler's own line, sustained, in frost: ice in the condensate."""
    condensate_rise: float = 0.05
    """…and risen this much within the window: ice builds in hours, a flue narrows over weeks."""
    condensate_window: timedelta = timedelta(hours=12)
    flue_drift_per_day: float = 0.02
    """The most a narrowing flue raises the fan speed in a day (it takes weeks to block): a ratio above
    the line by more than this times the line's age, plus `condensate_ratio`, is not the flue."""


def silent_in_frost(
    silent: Sequence[SilentDevice], regional_c: dict[str, float], now: datetime, config: FrostConfig
) -> dict[str, Finding]:
    """A04 findings for boilers silent for a while in a freezing region."""
    found = {}
    for device in silent:
        outdoor = regional_c.get(device.region or "")
        if outdoor is None or outdoor > config.frost_c:
            continue
        last = device.last_reading or {}
        room = _number(last.get("room_c")) or 18.0
        eta = _hours_to_freeze(room, outdoor) - (now - device.last_seen).total_seconds() / 3600
        silent_h = (now - device.last_seen).total_seconds() / 3600
        found[device.device_id] = Finding(
            "A04", "silent_in_frost",
            f"no report for {silent_h:.1f} h while the region is at {outdoor:.1f} °C",
            round(max(eta, 0.0), 1),
            {"last_seen": device.last_seen.isoformat(), "silent_hours": round(silent_h, 1),
             "region": device.region, "region_outdoor_c": round(outdoor, 1), "last_room_c": room,
             "last_flow_c": _number(last.get("ch_flow_c"))},
        )  # fmt: skip
    return found


def condensate_freezing(
    samples: Sequence[FrostSample], now: datetime, config: FrostConfig
) -> dict[str, Finding]:
    """A12 findings: fan speed above the boiler's own line, in frost, faster than a flue narrows."""
    by_device: dict[str, list[FrostSample]] = defaultdict(list)
    for s in samples:
        by_device[s.device_id].append(s)
    found = {}
    for device_id, rows in by_device.items():
        ratios = [
            (s, s.fan_rpm / expected)
            for s in rows
            if (expected := s.fan_intercept + s.fan_slope * s.modulation_pct) > 0
        ]
        last = ratios[-3:]
        if len(last) < 3 or min(r for _, r in last) < config.condensate_ratio - 0.02:
            continue
        level = median([r for _, r in last])
        if level < config.condensate_ratio:
            continue
        if not any((s.ch_return_c or 99) < 55 for s, _ in last):
            continue  # not condensing: no condensate to freeze
        line_age = max(1, (kst_day(now) - rows[-1].line_day).days)
        beyond_flue = level - config.flue_drift_per_day * line_age >= config.condensate_ratio
        risen = len(ratios) >= 5 and level - median([r for _, r in ratios[:3]]) >= config.condensate_rise
        if not (beyond_flue or risen):
            continue  # high, but a flue narrowing since the line was drawn could explain it
        trend = [((s.ts - now).total_seconds() / 3600, r) for s, r in ratios]
        slope, agreement = theil_sen(trend)
        eta = round((1.45 - level) / slope, 1) if slope > 0 and level < 1.45 else None
        found[device_id] = Finding(
            "A12", "fan_rising_in_frost",
            f"fan speed {100 * (level - 1):.0f} % above this boiler's normal at the same modulation, in frost",
            eta,
            {"ratio": round(level, 3), "line_day": rows[-1].line_day.isoformat(), "line_age_days": line_age,
             "beyond_flue_drift": beyond_flue, "rose_within_window": risen, "slope_per_hour": round(slope, 4), "slope_agreement": round(agreement, 3),
             "outdoor_c": [s.outdoor_c for s, _ in last], "return_c": [s.ch_return_c for s, _ in last],
             "values": [[s.ts.isoformat(), round(r, 3)] for s, r in ratios[-12:]]},
        )  # fmt: skip
    return found


def _hours_to_freeze(room_c: float, outdoor_c: float) -> float:
    """Hours until the boiler's surroundings (0.6 room + 0.4 outdoor) reach 0 °C with no heating."""
    if outdoor_c >= 0:
        return math.inf
    room_at_risk = -outdoor_c * 0.4 / 0.6
    if room_c <= room_at_risk:
        return 0.0
    return _HOUSE_TIME_CONSTANT_H * math.log((room_c - outdoor_c) / (room_at_risk - outdoor_c))


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
