"""Whether a boiler is under warranty: N years from installation (3 by default, per model configurable)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = ["Warranty", "warranty_on"]


@dataclass(frozen=True, slots=True)
class Warranty:
    in_warranty: bool | None
    """None when the installation date is unknown: the agent must ask."""
    ends_on: date | None
    years: int


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def warranty_on(installed_on: date | None, years: int, on: date) -> Warranty:
    """The warranty state on day `on` for a boiler installed on `installed_on`."""
    if installed_on is None:
        return Warranty(None, None, years)
    ends = _add_years(installed_on, years)
    return Warranty(on < ends, ends, years)
