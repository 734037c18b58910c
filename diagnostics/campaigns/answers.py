"""What customers and technicians do with an inspection: accept, move or decline it, and complete it.

Each answer is checked against the campaign (a moved day must be a working day of the window, not
in the past, with a free slot at the service point), recorded in the inspection's history and sent
to the call center as `inspection.updated`. Answers take the season's lock, so an answer and a
re-plan never give the same slot twice. Completing an inspection resets what the ranking counts
from the last inspection: its date, and the burner hours and starts at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, Literal

from diagnostics.campaigns.plan import record_changes
from diagnostics.campaigns.planner import Window
from telemetry import named_queries
from telemetry.database import Connection

__all__ = [
    "Answer",
    "InspectionConflictError",
    "InspectionNotFoundError",
    "answer_inspection",
    "complete_inspection",
]

_Q: Final = named_queries.load("campaigns", package="diagnostics.campaigns").require(
    "answer_inspection", "booked_days", "booked_on", "complete_inspection", "inspection_for_update", "inspection_season", "lock_campaign", "newest_counters", "point_inspection_slots", "reset_inspection_counters",
)  # fmt: skip
Answer = Literal["accept", "reschedule", "decline"]
_STATUS: Final[dict[str, str]] = {"accept": "accepted", "reschedule": "rescheduled", "decline": "declined"}
_HOLDING: Final = frozenset({"proposed", "accepted", "rescheduled"})
_SUGGESTIONS: Final = 5


class InspectionNotFoundError(LookupError):
    pass


@dataclass
class InspectionConflictError(Exception):
    """The answer does not fit the inspection or the campaign; `free_days` are days that would."""

    reason: str
    free_days: list[date]

    def __str__(self) -> str:
        return self.reason


async def answer_inspection(
    conn: Connection,
    inspection_id: int,
    *,
    answer: Answer,
    day: date | None,
    today: date,
    actor: str,
    note: str = "",
) -> dict[str, Any]:
    """Record the customer's answer (in a transaction); the inspection as it is now."""
    async with conn.transaction():
        row = await _locked(conn, inspection_id)
        status = row["status"]
        if status in ("completed", "withdrawn"):
            raise InspectionConflictError(f"the inspection is {status}; it takes no answer", [])
        window = Window(row["first_day"], row["last_day"], frozenset(row["weekdays"]))
        if answer == "reschedule":
            if day is None:
                raise InspectionConflictError(
                    "a new day is needed to reschedule", await _free_days(conn, row, window, today)
                )
            await _check_day(conn, row, window, day, today)
        else:
            if day is not None and day != row["day"]:
                raise InspectionConflictError("only a reschedule changes the day", [])
            day = row["day"]
            if answer == "accept" and day <= today:
                raise InspectionConflictError(f"the proposed day {day} has passed; reschedule instead",
                                         await _free_days(conn, row, window, today))  # fmt: skip
            if answer == "accept" and status not in _HOLDING:
                # declined or lapsed: its slot may have gone to someone else since
                await _check_day(conn, row, window, day, today)
        updated = await conn.fetchrow(_Q["answer_inspection"], inspection_id, _STATUS[answer], day)
        await record_changes(conn, [inspection_id], _STATUS[answer], actor, note)
    assert updated is not None
    return dict(updated)


async def complete_inspection(
    conn: Connection,
    inspection_id: int,
    *,
    on: date,
    today: date,
    now: datetime,
    actor: str,
    burner_hours: float | None = None,
    burner_starts: int | None = None,
    note: str = "",
) -> dict[str, Any]:
    """Record the visit (in a transaction) and reset the device's inspection counters: to what the
    technician read off the boiler, or else the newest daily totals stored."""
    if on > today:
        raise InspectionConflictError(f"an inspection cannot be completed on {on}, after today ({today})", [])
    async with conn.transaction():
        row = await _locked(conn, inspection_id)
        if row["status"] == "completed":
            raise InspectionConflictError(
                f"the inspection was completed already, at {row['completed_at']}", []
            )
        stored = await conn.fetchrow(_Q["newest_counters"], row["device_id"])
        hours = (
            burner_hours
            if burner_hours is not None
            else float(stored["burner_hours_total"])
            if stored
            else 0.0
        )
        starts = (
            burner_starts if burner_starts is not None else int(stored["starts_total"] or 0) if stored else 0
        )
        done = await conn.fetchrow(_Q["complete_inspection"], inspection_id, now, on)
        await record_changes(conn, [inspection_id], "completed", actor, note)
        await conn.execute(_Q["reset_inspection_counters"], row["device_id"], on, hours, starts)
    assert done is not None
    return dict(done)


async def _locked(conn: Connection, inspection_id: int) -> Any:
    season = await conn.fetchval(_Q["inspection_season"], inspection_id)
    if season is None:
        raise InspectionNotFoundError(inspection_id)
    await conn.execute(_Q["lock_campaign"], season)
    row = await conn.fetchrow(_Q["inspection_for_update"], inspection_id)
    if row is None:
        raise InspectionNotFoundError(inspection_id)
    return row


async def _check_day(conn: Connection, row: Any, window: Window, day: date, today: date) -> None:
    if day <= today:
        raise InspectionConflictError(
            f"{day} is not after today ({today})", await _free_days(conn, row, window, today)
        )
    if day not in set(window.days()):
        raise InspectionConflictError(
            f"{day} is not a working day of the campaign ({window.first} to {window.last})",
            await _free_days(conn, row, window, today),
        )
    taken = await conn.fetchval(
        _Q["booked_on"], row["campaign_id"], row["point_id"], day, row["inspection_id"]
    )
    if taken >= await _slots(conn, row["point_id"]):
        raise InspectionConflictError(
            f"the service point has no free slot on {day}", await _free_days(conn, row, window, today)
        )


async def _slots(conn: Connection, point_id: str) -> int:
    return int(await conn.fetchval(_Q["point_inspection_slots"], point_id) or 0)


async def _free_days(conn: Connection, row: Any, window: Window, today: date) -> list[date]:
    """The first days from tomorrow with a free slot at the inspection's service point."""
    slots = await _slots(conn, row["point_id"])
    taken = {
        r["day"]: int(r["taken"])
        for r in await conn.fetch(_Q["booked_days"], row["campaign_id"], row["point_id"], today)
    }
    own = row["day"] if row["status"] in _HOLDING else None
    free = [d for d in window.days() if d > today and taken.get(d, 0) - (d == own) < slots]
    return free[:_SUGGESTIONS]
