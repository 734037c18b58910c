"""What predictive care reads from the store: the predictions made so far, and the fault families a
device has just had a hard fault in (whose trends are history by now).

The predictions themselves are written by the faults engine (see the package docstring), so that a
prediction, its case and its ticket are opened together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from telemetry import named_queries
from telemetry.database import Connection

__all__ = ["PredictionRecord", "list_predictions", "recently_faulted_families"]

_Q: Final = named_queries.load("predictions", package="diagnostics.predictive").require(
    "list_predictions", "recent_hard_faults"
)


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One row of the predictions table."""

    prediction_id: int
    device_id: str
    code: str
    family: str
    detector: str
    status: str
    """open, confirmed (the predicted fault happened) or closed."""
    predicted_at: datetime
    eta: datetime | None
    confirmed_code: str | None
    confirmed_at: datetime | None


async def list_predictions(conn: Connection) -> list[PredictionRecord]:
    """Every prediction, oldest first (for the evaluation and reports)."""
    return [PredictionRecord(**dict(r)) for r in await conn.fetch(_Q["list_predictions"])]


async def recently_faulted_families(conn: Connection, since: datetime) -> set[tuple[str, str]]:
    """(device, family) pairs in which the device itself raised a code since `since`."""
    sql, args = _Q.bind("recent_hard_faults", {"since": since})
    return {(r["device_id"], r["family"]) for r in await conn.fetch(sql, *args)}
