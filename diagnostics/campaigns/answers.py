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
from typing import Final, Literal

from diagnostics.campaigns.plan import record_changes
from diagnostics.campaigns.planner import Window
from diagnostics.campaigns.store import InspectionRecord, campaign_of_inspection, fetch_inspections
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
    "answer_inspection", "booked_days", "booked_on", "complete_inspection", "inspection_for_update", "lock_campaign", "newest_counters", "point_inspection_slots", "reset_inspection_counters",
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


@dataclass(frozen=True, slots=True)
class _Locked:
    """An inspection locked for an answer, with its campaign's window."""

    inspection: InspectionRecord
    window: Window

    @property
    def holding(self) -> bool:
        """Its day is still taken: proposed, accepted or rescheduled."""
        return self.inspection.status in _HOLDING


async def answer_inspection(
    conn: Connection,
    inspection_id: int,
    *,
    answer: Answer,
    day: date | None,
    today: date,
    actor: str,
    note: str = "",
) -> InspectionRecord:
    """Record the customer's answer (in a transaction); the inspection as it is now."""
    async with conn.transaction():
        locked = await _locked(conn, inspection_id)
        status = locked.inspection.status
        if status in ("completed", "withdrawn"):
            raise InspectionConflictError(f"the inspection is {status}; it takes no answer", [])
        if answer == "reschedule":
            if day is None:
                raise InspectionConflictError(
                    "a new day is needed to reschedule", await _free_days(conn, locked, today)
                )
            await _check_day(conn, locked, day, today)
        else:
            if day is not None and day != locked.inspection.day:
                raise InspectionConflictError("only a reschedule changes the day", [])
            day = locked.inspection.day
            if answer == "accept" and day <= today:
                raise InspectionConflictError(f"the proposed day {day} has passed; reschedule instead",
                                         await _free_days(conn, locked, today))  # fmt: skip
            if answer == "accept" and not locked.holding:
                # declined or lapsed: its slot may have gone to someone else since
                await _check_day(conn, locked, day, today)
        (updated,) = await fetch_inspections(
            conn, InspectionRecord, _Q["answer_inspection"], inspection_id, _STATUS[answer], day
        )
        await record_changes(conn, [inspection_id], _STATUS[answer], actor, note)
    return updated


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
) -> InspectionRecord:
    """Record the visit (in a transaction) and reset the device's inspection counters: to what the
    technician read off the boiler, or else the newest daily totals stored."""
    if on > today:
        raise InspectionConflictError(f"an inspection cannot be completed on {on}, after today ({today})", [])
    async with conn.transaction():
        inspection = (await _locked(conn, inspection_id)).inspection
        if inspection.status == "completed":
            raise InspectionConflictError(
                f"the inspection was completed already, at {inspection.completed_at}", []
            )
        stored = await conn.fetchrow(_Q["newest_counters"], inspection.device_id)
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
        (done,) = await fetch_inspections(
            conn, InspectionRecord, _Q["complete_inspection"], inspection_id, now, on
        )
        await record_changes(conn, [inspection_id], "completed", actor, note)
        sql, args = _Q.bind("reset_inspection_counters", {
            "device_id": inspection.device_id, "on": on, "burner_hours": hours, "starts": starts,
        })  # fmt: skip
        await conn.execute(sql, *args)
    return done


async def _locked(conn: Connection, inspection_id: int) -> _Locked:
    """The inspection, locked, once its season's lock is held (as a re-plan holds it)."""
    campaign = await campaign_of_inspection(conn, inspection_id)
    if campaign is None:
        raise InspectionNotFoundError(inspection_id)
    await conn.execute(_Q["lock_campaign"], campaign.season)
    found = await fetch_inspections(conn, InspectionRecord, _Q["inspection_for_update"], inspection_id)
    if not found:
        raise InspectionNotFoundError(inspection_id)
    return _Locked(found[0], campaign.window)


async def _check_day(conn: Connection, locked: _Locked, day: date, today: date) -> None:
    window, inspection = locked.window, locked.inspection
    if day <= today:
        raise InspectionConflictError(
            f"{day} is not after today ({today})", await _free_days(conn, locked, today)
        )
    if day not in set(window.days()):
        raise InspectionConflictError(
            f"{day} is not a working day of the campaign ({window.first} to {window.last})",
            await _free_days(conn, locked, today),
        )
    sql, args = _Q.bind("booked_on", {
        "campaign_id": inspection.campaign_id, "point_id": inspection.point_id, "day": day,
        "inspection_id": inspection.inspection_id,
    })  # fmt: skip
    if await conn.fetchval(sql, *args) >= await _slots(conn, inspection.point_id):
        raise InspectionConflictError(
            f"the service point has no free slot on {day}", await _free_days(conn, locked, today)
        )


async def _slots(conn: Connection, point_id: str) -> int:
    return int(await conn.fetchval(_Q["point_inspection_slots"], point_id) or 0)


async def _free_days(conn: Connection, locked: _Locked, today: date) -> list[date]:
    """The first days from tomorrow with a free slot at the inspection's service point."""
    inspection = locked.inspection
    slots = await _slots(conn, inspection.point_id)
    taken = {
        r["day"]: int(r["taken"])
        for r in await conn.fetch(_Q["booked_days"], inspection.campaign_id, inspection.point_id, today)
    }
    own = inspection.day if locked.holding else None
    free = [d for d in locked.window.days() if d > today and taken.get(d, 0) - (d == own) < slots]
    return free[:_SUGGESTIONS]
