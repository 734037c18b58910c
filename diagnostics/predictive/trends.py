"""Slow-fault detectors: each looks at one device's recent daily health features and may find a trend.

Every detector compares the last few days with the device's own baseline (the weeks before), in
units of the baseline's robust spread, and asks for a consistent slope (Theil–Sen) as well, so one
odd day is never enough. A level alone is not enough either: the change must also exceed a physical
minimum (a boiler whose figures barely move has a tiny spread, and 5 × tiny is still tiny). The
thresholds come from the domain ranges (flame current below ~1–1.5 µA cannot prove a flame; a sealed
loop below ~0.5 bar cold stops the boiler); they are the same for every boiler.

Pure functions: no I/O, so every rule is tested directly with made-up days.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final, TypeAlias

from diagnostics.predictive.robust_stats import mad_sigma, median, poisson_sf, theil_sen
from telemetry.health_features import HealthDay

__all__ = ["BASELINE_DAYS", "DETECTORS", "Evidence", "Finding", "JsonValue", "detect_trends"]

BASELINE_DAYS: Final = (35, 8)
"""The baseline is the days from 35 to 8 before the newest (the last week may already be drifting)."""
_RECENT: Final = 3
_TREND: Final = 10
_MIN_BASELINE: Final = 7

JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
Evidence: TypeAlias = dict[str, JsonValue]
"""What a finding shows an agent (stored with the prediction and its ticket as JSON)."""


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    detector: str
    summary: str
    eta_hours: float | None
    evidence: Evidence = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Move:
    """A feature's move away from where it stood, as a finding cites it (figures rounded as shown)."""

    baseline: float
    baseline_sigma: float | None
    """The baseline's robust spread; None for a sparse climb, which has too few days for one."""
    recent: float
    change: float
    threshold: float
    slope_per_day: float
    slope_agreement: float
    values: list[tuple[int, float]]
    """(day as an ordinal, value) over the days the slope was fitted on."""

    def evidence(self) -> Evidence:
        evidence: Evidence = {"baseline": self.baseline}
        if self.baseline_sigma is not None:
            evidence["baseline_sigma"] = self.baseline_sigma
        evidence |= {
            "recent": self.recent, "change": self.change, "threshold": self.threshold,
            "slope_per_day": self.slope_per_day, "slope_agreement": self.slope_agreement,
        }  # fmt: skip
        if self.baseline_sigma is None:
            evidence["sparse"] = True
        evidence["values"] = [[date.fromordinal(d).isoformat(), v] for d, v in self.values]
        return evidence


@dataclass(frozen=True, slots=True)
class _Series:
    """One feature over the window: (day index, value) with None days dropped."""

    points: list[tuple[float, float]]
    newest: date

    def baseline(self) -> list[float]:
        far, near = BASELINE_DAYS
        return [v for x, v in self.points if -far <= x <= -near]

    def recent(self) -> list[float]:
        """The newest `_RECENT` values of the last five days (a day without a fitted value is skipped)."""
        return [v for x, v in self.points if x > -5][-_RECENT:]

    def trend(self) -> list[tuple[float, float]]:
        return [(x, v) for x, v in self.points if x > -_TREND]


def _series(days: Sequence[HealthDay], value: Callable[[HealthDay], float | None]) -> _Series:
    newest = days[-1].day
    pts = [(float((d.day - newest).days), v) for d in days if (v := value(d)) is not None]
    return _Series(pts, newest)


def _drift(
    days: Sequence[HealthDay],
    value: Callable[[HealthDay], float | None],
    *,
    direction: int,
    sigmas: float,
    min_change: Callable[[float], float],
) -> _Move | None:
    """A sustained move of the feature in `direction` (+1 up, −1 down) away from its baseline."""
    s = _series(days, value)
    base, recent, trend = s.baseline(), s.recent(), s.trend()
    if len(base) < _MIN_BASELINE or len(recent) < _RECENT or len(trend) < 6:
        return None
    centre = median(base)
    scale = max(mad_sigma(base), 1e-9)
    level = median(recent)
    change = (level - centre) * direction
    threshold = max(sigmas * scale, min_change(centre))
    if change < threshold:
        return None
    if any((v - centre) * direction < 0.5 * threshold for v in recent):
        return None  # every recent day must share the move, not only their median
    slope, agreement = theil_sen(trend)
    if slope * direction <= 0 or agreement < 0.7:
        return None
    return _Move(
        baseline=round(centre, 4), baseline_sigma=round(scale, 4), recent=round(level, 4),
        change=round(change * direction, 4), threshold=round(threshold, 4),
        slope_per_day=round(slope, 5), slope_agreement=round(agreement, 3), values=_ordinal_values(s, trend),
    )  # fmt: skip


def _climb(
    days: Sequence[HealthDay],
    value: Callable[[HealthDay], float | None],
    *,
    min_rise: Callable[[float], float],
) -> _Move | None:
    """A steady climb across the whole window, for a feature that is measured on few days.

    The fan line needs thawed heating hours, which a cold region can lack for weeks: then there are
    neither 7 baseline days nor 3 recent ones, and a flue narrowing meanwhile would go unseen. Over
    whatever days the window has (at least 5, spanning 10 days or more, the newest within the last
    5), the values must climb on the whole (80 % of the pairwise slopes agreeing), the two newest must
    both stand `min_rise` above the three oldest, and so must the fitted rise over the span.
    """
    s = _series(days, value)
    pts = s.points
    if len(pts) < 5 or pts[-1][0] - pts[0][0] < 10 or pts[-1][0] <= -5:
        return None
    start = median([v for _, v in pts[:3]])
    newest = [v for _, v in pts[-2:]]
    rise = min_rise(start)
    if min(newest) - start < rise:
        return None  # first the cheap test: it ends here for nearly every boiler, every day
    slope, agreement = theil_sen(pts)
    if slope <= 0 or agreement < 0.8 or slope * (pts[-1][0] - pts[0][0]) < rise:
        return None
    return _Move(
        baseline=round(start, 4), baseline_sigma=None, recent=round(median(newest), 4),
        change=round(median(newest) - start, 4), threshold=round(rise, 4),
        slope_per_day=round(slope, 5), slope_agreement=round(agreement, 3), values=_ordinal_values(s, pts),
    )  # fmt: skip


def _ordinal_values(s: _Series, points: Sequence[tuple[float, float]]) -> list[tuple[int, float]]:
    return [(s.newest.toordinal() + int(x), round(v, 4)) for x, v in points]


def _eta_to(limit: float, move: _Move) -> float | None:
    """Hours until the recent level reaches `limit` at the measured slope (None if moving away)."""
    slope = move.slope_per_day
    gap = limit - move.recent
    if slope == 0 or gap / slope < 0:
        return 0.0 if gap * slope <= 0 and abs(gap) < 1e-9 else None
    return round(24 * gap / slope, 1)


def flame_signal(days: Sequence[HealthDay]) -> Finding | None:
    """Median flame current falling (flame-rod fouling), or flame losses appearing (A01)."""
    found = _drift(days, lambda d: d.flame_ua_p50, direction=-1, sigmas=5, min_change=lambda c: 0.15 * c)
    if found is None:
        return None
    return Finding("A01", "flame_current_falling",
                   f"median flame current {found.baseline:.1f} → {found.recent:.1f} µA",
                   _eta_to(1.0, found), found.evidence())  # fmt: skip


def ignition_retries(days: Sequence[HealthDay]) -> Finding | None:
    """Failed ignition trials far above the device's own rate (electrode wear, A02)."""
    rates = _daily_counts(days)
    if len(rates) < _MIN_BASELINE + _RECENT:
        return None
    newest = days[-1].day
    far, near = BASELINE_DAYS
    base = [(f, n) for day, f, n in rates if near <= (newest - day).days <= far]
    if len(base) < _MIN_BASELINE:
        return None
    base_rate = max(sum(f for f, _ in base) / max(1, sum(n for _, n in base)), 0.005)
    # Counts carry their own significance (a Poisson test against the device's own rate), so the last
    # two or three days are enough; the tail bound keeps chance alarms near one per 10⁵ device-days.
    best: tuple[float, int, int] | None = None
    for span in (2, 3):
        recent = [(f, n) for day, f, n in rates if (newest - day).days < span]
        failed, trials = sum(f for f, _ in recent), sum(n for _, n in recent)
        if len(recent) < span or failed < 4 or trials == 0 or failed / trials < 4 * base_rate:
            continue
        tail = poisson_sf(failed, trials * base_rate)
        if best is None or tail < best[0]:
            best = (tail, failed, trials)
    if best is None or best[0] > 1e-5:
        return None
    surprise, failed, trials = best
    ratios = [
        (float((day - newest).days), f / n) for day, f, n in rates if n and (newest - day).days < _TREND
    ]
    slope, agreement = theil_sen(ratios)
    ratio = failed / trials
    eta = round(24 * (0.5 - ratio) / slope, 1) if slope > 0 and ratio < 0.5 else None
    evidence: Evidence = {
        "baseline_failed_share": round(base_rate, 4), "recent_failed": failed, "recent_trials": trials,
        "recent_failed_share": round(ratio, 4), "poisson_tail": surprise, "slope_per_day": round(slope, 5),
        "slope_agreement": round(agreement, 3),
        "values": [[(newest + timedelta(days=x)).isoformat(), round(r, 4)] for x, r in ratios],
    }  # fmt: skip
    return Finding("A02", "ignition_retries_rising",
                   f"{failed} of {trials} ignition trials failed lately (normally {base_rate:.1%})",
                   eta, evidence)  # fmt: skip


def scaling(days: Sequence[HealthDay]) -> Finding | None:
    """Flue running hotter above the return at the same modulation (heat-exchanger scale, A03)."""
    found = _drift(days, lambda d: d.approach_at50, direction=+1, sigmas=5, min_change=lambda c: 1.5)
    if found is None:
        return None
    return Finding("A03", "flue_approach_rising",
                   f"flue − return at 50 % modulation {found.baseline:.1f} → {found.recent:.1f} K",
                   _eta_to(found.baseline + 22.0, found), found.evidence())  # fmt: skip


def water_loss(days: Sequence[HealthDay]) -> Finding | None:
    """Pressure at a fixed water temperature falling (sealed loop) or refills coming closer (A09)."""
    found = _drift(days, lambda d: d.pressure_at40, direction=-1, sigmas=5, min_change=lambda c: 0.08)
    if found is not None:
        return Finding("A09", "pressure_falling",
                       f"pressure at 40 °C {found.baseline:.2f} → {found.recent:.2f} bar",
                       _eta_to(0.74, found), found.evidence())  # fmt: skip
    return _refills(days)


def _refills(days: Sequence[HealthDay]) -> Finding | None:
    totals = [(d.day, d.refills_total) for d in days if d.refills_total is not None]
    if len(totals) < _MIN_BASELINE + _RECENT:
        return None
    daily = [(b[0], b[1] - a[1]) for a, b in itertools.pairwise(totals) if (b[0] - a[0]).days == 1]
    newest = days[-1].day
    far, near = BASELINE_DAYS
    base = [n for day, n in daily if near <= (newest - day).days <= far]
    recent = [n for day, n in daily if (newest - day).days < 5]
    if len(base) < _MIN_BASELINE or len(recent) < 4:
        return None
    base_rate = max(sum(base) / len(base), 1 / 60)
    count = sum(recent)
    surprise = poisson_sf(count, base_rate * len(recent))
    if count < 3 or surprise > 1e-5:
        return None
    per_day = count / len(recent)
    trend = [(float((day - newest).days), float(n)) for day, n in daily if (newest - day).days < _TREND]
    slope, agreement = theil_sen(trend)
    eta = round(24 * (4 - per_day) / slope, 1) if slope > 0 and per_day < 4 else None
    evidence: Evidence = {
        "baseline_refills_per_day": round(base_rate, 4), "recent_refills": count, "recent_days": len(recent),
        "poisson_tail": surprise, "slope_per_day": round(slope, 4), "slope_agreement": round(agreement, 3),
        "values": [[day.isoformat(), n] for day, n in daily if (newest - day).days < _TREND],
    }  # fmt: skip
    return Finding("A09", "refills_closer",
                   f"{count} automatic refills in {len(recent)} days (normally {base_rate * 30:.1f} a month)",
                   eta, evidence)  # fmt: skip


def circulation(days: Sequence[HealthDay]) -> Finding | None:
    """Flow-return spread widening at the same modulation: less water moving (A10)."""
    found = _drift(days, lambda d: d.spread_at50, direction=+1, sigmas=5, min_change=lambda c: 0.15 * c)
    if found is None:
        return None
    return Finding("A10", "loop_spread_widening",
                   f"flow − return at 50 % modulation {found.baseline:.1f} → {found.recent:.1f} K",
                   _eta_to(found.baseline / 0.35, found), found.evidence())  # fmt: skip


def air_path(days: Sequence[HealthDay]) -> Finding | None:
    """Fan speed creeping up at the same modulation: the air or flue path is narrowing (A11)."""
    found = _drift(days, lambda d: d.fan_at50, direction=+1, sigmas=5, min_change=lambda c: 0.05 * c)
    if found is not None and sum(1 for _, v in found.values if v > found.baseline) < 5:
        found = None
    if found is None:  # too few fitted days for a baseline (a cold spell): a steady climb will do
        found = _climb(days, lambda d: d.fan_at50, min_rise=lambda c: 0.08 * c)
    if found is None:
        return None
    return Finding("A11", "fan_speed_creeping",
                   f"fan speed at 50 % modulation {found.baseline:.0f} → {found.recent:.0f} rpm",
                   _eta_to(found.baseline * 1.35, found), found.evidence())  # fmt: skip


DETECTORS: Final[tuple[Callable[[Sequence[HealthDay]], Finding | None], ...]] = (
    ignition_retries, flame_signal, scaling, water_loss, circulation, air_path,
)  # fmt: skip


def detect_trends(days: Sequence[HealthDay]) -> list[Finding]:
    """Every finding for one device's window of days (oldest first, newest last)."""
    if not days:
        return []
    return [f for detector in DETECTORS if (f := detector(days)) is not None]


def _daily_counts(days: Sequence[HealthDay]) -> list[tuple[date, int, int]]:
    """(day, failed trials, all trials) from consecutive days' counter totals."""
    out = []
    for a, b in itertools.pairwise(days):
        if (b.day - a.day).days != 1 or None in (
            a.starts_total,
            b.starts_total,
            a.failed_total,
            b.failed_total,
        ):
            continue
        assert a.starts_total is not None
        assert b.starts_total is not None
        assert a.failed_total is not None
        assert b.failed_total is not None
        failed = max(0, b.failed_total - a.failed_total)
        started = max(0, b.starts_total - a.starts_total)
        out.append((b.day, failed, failed + started))
    return out
