"""Whether a boiler is under warranty: N years from installation (3 by default, per model configurable)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from telemetry import named_queries
from telemetry.database import Connection

__all__ = ["Warranty", "device_warranty", "warranty_on"]

_Q: Final = named_queries.load("warranty", package="diagnostics").require("model_warranty_years")


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


async def device_warranty(
    conn: Connection, *, model: str, installed_on: date | None, default_years: int, on: date
) -> Warranty:
    """The warranty of a boiler of `model`, per the model table or the default length."""
    years = int(await conn.fetchval(_Q["model_warranty_years"], model, default_years))
    return warranty_on(installed_on, years, on)
