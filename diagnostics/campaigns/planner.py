"""The pre-season before-service (B/S) plan: which boilers to inspect, in what order, on which day.

Makers mail every customer the same reminder; Ondol ranks the boilers by how much an inspection
before winter is worth for each, and spreads them over the window at each service point without
exceeding its daily slots, highest risk first.

- **Risk** is a sum of weighted parts, each capped so no single part decides alone, each kept in the
  result so an agent can say why a boiler was chosen: age against the 10-year recommended life,
  burner hours and starts since the last inspection, faults of the past year, open predictions,
  warranty ending soon (an inspection while it still covers repairs), a vulnerable household
  (an elderly person living alone), and time since the last inspection.
- **Selection**: the boilers whose risk reaches `min_score`.
- **Placement**: boilers in descending risk (ties by device id, so the same input always gives the
  same plan) each take the earliest working day with a free slot at their service point. Bookings
  the customer already accepted or moved keep their day and use up its slot first.

Pure functions over plain rows: the store loads them, `campaigns` persists the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

__all__ = ["BoilerRisk", "Placement", "Plan", "RiskWeights", "Window", "plan_inspections", "risk_of"]

_DAYS_PER_YEAR: Final = 365.25


@dataclass(frozen=True, slots=True)
class BoilerRisk:
    """What the ranking needs to know about one boiler, as of the planning day."""

    device_id: str
    point_id: str | None
    installed_on: date | None
    burner_hours_since: float = 0.0
    """Burner hours since the last inspection (since installation if never inspected)."""
    starts_since: int = 0
    faults_past_year: int = 0
    open_predictions: int = 0
    warranty_ends: date | None = None
    vulnerable: bool = False
    last_inspected: date | None = None


@dataclass(frozen=True, slots=True)
class RiskWeights:
    """Points per part, and the cap of each part's scaled value (so no part alone decides)."""

    age: float = 3.0
    """Per 10 years of age (the recommended use period), up to 1.5 × this."""
    burner_hours: float = 2.0
    """Per 1,500 burner hours since the last inspection (about one heating season), up to 2 ×."""
    starts: float = 1.0
    """Per 10,000 burner starts since the last inspection, up to 2 ×."""
    faults: float = 0.75
    """Per fault in the past year, up to 4 faults."""
    predictions: float = 1.5
    """Per open prediction, up to 2."""
    warranty_ending: float = 1.5
    """If the warranty ends within `warranty_horizon` after the window: inspect while it still pays."""
    warranty_horizon: timedelta = timedelta(days=180)
    vulnerable: float = 2.0
    uninspected: float = 1.5
    """Per 3 years since the last inspection (or installation), up to 1 ×."""
    min_score: float = 6.0
    """Boilers below this are not worth a visit this season: about a boiler past its 10 years with a
    season of use since it was last seen, or a young one with a predicted fault and heavy use."""


@dataclass(frozen=True, slots=True)
class Window:
    """The campaign's days (Korean dates, both ends included) and which weekdays are worked."""

    first: date
    last: date
    weekdays: frozenset[int] = field(default_factory=lambda: frozenset(range(6)))
    """Monday = 0; by default Monday to Saturday."""

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"the window ends ({self.last}) before it starts ({self.first})")
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise ValueError("a window needs at least one working weekday, numbered 0 (Monday) to 6")

    def days(self) -> list[date]:
        span = (self.last - self.first).days + 1
        return [d for i in range(span) if (d := self.first + timedelta(days=i)).weekday() in self.weekdays]


@dataclass(frozen=True, slots=True)
class Placement:
    device_id: str
    point_id: str
    day: date
    score: float
    reasons: dict[str, float]
    booked: bool = False
    """Kept from an earlier plan because the customer accepted or chose this day."""


@dataclass(frozen=True, slots=True)
class Plan:
    placements: list[Placement]
    """Highest risk first."""
    over_capacity: list[tuple[str, float]]
    """Selected boilers that found no free slot at their service point in the window."""
    without_point: list[tuple[str, float]]
    """Selected boilers with no service point to inspect them."""
    considered: int
    """Every boiler ranked, selected or not."""


def risk_of(
    boiler: BoilerRisk, on: date, window_last: date, weights: RiskWeights
) -> tuple[float, dict[str, float]]:
    """The boiler's risk score on `on`, and the points of each part that contributed."""
    w = weights
    since = boiler.last_inspected or boiler.installed_on
    parts = {
        "age": w.age * min(_years(boiler.installed_on, on) / 10, 1.5),
        "burner_hours": w.burner_hours * min(boiler.burner_hours_since / 1500, 2.0),
        "starts": w.starts * min(boiler.starts_since / 10_000, 2.0),
        "faults": w.faults * min(boiler.faults_past_year, 4),
        "predictions": w.predictions * min(boiler.open_predictions, 2),
        "warranty_ending": w.warranty_ending * _warranty_ends_soon(boiler.warranty_ends, on, window_last + w.warranty_horizon),
        "vulnerable": w.vulnerable * boiler.vulnerable,
        "uninspected": w.uninspected * min(_years(since, on) / 3, 1.0),
    }  # fmt: skip
    reasons = {k: round(v, 3) for k, v in parts.items() if v > 0}
    return round(sum(parts.values()), 3), reasons


def plan_inspections(
    boilers: Iterable[BoilerRisk],
    capacity: Mapping[str, int],
    window: Window,
    *,
    on: date,
    weights: RiskWeights | None = None,
    booked: Mapping[str, tuple[str, date]] | None = None,
    from_day: date | None = None,
) -> Plan:
    """Select and place. `capacity`: daily inspection slots per service point. `booked`: device →
    (point, day) of inspections the customer already accepted or moved; they keep their slot.
    `from_day`: the earliest day to propose (a notice period). No day before `on` is ever proposed:
    a visit on a day that has passed cannot happen, and the call center would be told of it."""
    w = weights or RiskWeights()
    booked = booked or {}
    earliest = max(on, from_day or on)
    days = [d for d in window.days() if d >= earliest]
    used: dict[tuple[str, date], int] = {}
    for point, day in booked.values():
        used[(point, day)] = used.get((point, day), 0) + 1
    ranked = _ranked(boilers, on, window.last, w)
    placements: list[Placement] = []
    over: list[tuple[str, float]] = []
    without: list[tuple[str, float]] = []
    cursor: dict[str, int] = {}  # per point: index of its earliest day that may still have a slot
    for score, boiler, reasons in ranked:
        if boiler.device_id in booked:
            point, kept = booked[boiler.device_id]
            placements.append(Placement(boiler.device_id, point, kept, score, reasons, booked=True))
            continue
        if score < w.min_score:
            continue
        point_id = boiler.point_id
        if point_id is None or capacity.get(point_id, 0) <= 0:
            without.append((boiler.device_id, score))
            continue
        free = _first_free_day(point_id, capacity[point_id], days, used, cursor)
        if free is None:
            over.append((boiler.device_id, score))
            continue
        used[(point_id, free)] = used.get((point_id, free), 0) + 1
        placements.append(Placement(boiler.device_id, point_id, free, score, reasons))
    return Plan(placements, over, without, len(ranked))


def _ranked(
    boilers: Iterable[BoilerRisk], on: date, window_last: date, weights: RiskWeights
) -> list[tuple[float, BoilerRisk, dict[str, float]]]:
    scored = [(*risk_of(b, on, window_last, weights), b) for b in boilers]
    scored.sort(key=lambda s: (-s[0], s[2].device_id))
    return [(score, boiler, reasons) for score, reasons, boiler in scored]


def _first_free_day(
    point_id: str, slots: int, days: Sequence[date], used: dict[tuple[str, date], int], cursor: dict[str, int]
) -> date | None:
    """The point's earliest day with a free slot. Boilers come in descending risk, so the days before
    the cursor are full for good: each point's days are walked once over the whole plan."""
    i = cursor.get(point_id, 0)
    while i < len(days) and used.get((point_id, days[i]), 0) >= slots:
        i += 1
    cursor[point_id] = i
    return days[i] if i < len(days) else None


def _years(since: date | None, on: date) -> float:
    return 0.0 if since is None else max(0.0, (on - since).days / _DAYS_PER_YEAR)


def _warranty_ends_soon(ends: date | None, on: date, horizon: date) -> bool:
    return ends is not None and on <= ends <= horizon
