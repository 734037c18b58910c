"""Capacity-aware priority: when a service point's visit windows for the coming days are full, its open
work is ranked by need and each job is told honestly when a technician can come, here or at the
nearest point with room within a travel bound.

Need, most urgent first:
0. safety (an emergency or urgent ticket);
1. no heat in a vulnerable household (the boiler is stopped: a blocking, manual-reset or hard lockout);
2. no heat;
3. running but degraded (hot water, comfort, a warning);
4. advisories (a planned visit for a predicted fault).
Within a need, the oldest ticket first. Each job takes the earliest free window at its own point; a
job that would wait longer than `max_wait_days` there takes the earliest window of another point within
`travel_km` of the home, if that is sooner (overflow). The plan only proposes: booking stays with the
customer's page or the call center.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import IntEnum
from typing import Final

from diagnostics.catalog import Lockout, load_catalog
from diagnostics.customer_link import store as link_store
from diagnostics.customer_link.store import Slot
from diagnostics.service_points import ServicePoint, ServicePointDirectory, haversine_km
from telemetry import named_queries
from telemetry.database import Connection
from telemetry.korean_time import kst_day

__all__ = ["Need", "OpenJob", "PlanConfig", "PlannedJob", "dispatch_plan", "need_of", "plan_jobs"]

_Q: Final = named_queries.load("cold_wave", package="diagnostics.cold_wave").require("open_work")
_STOPPED: Final = frozenset({Lockout.BLOCKING, Lockout.MANUAL_RESET, Lockout.HARD})


class Need(IntEnum):
    SAFETY = 0
    NO_HEAT_VULNERABLE = 1
    NO_HEAT = 2
    DEGRADED = 3
    ADVISORY = 4


@dataclass(frozen=True, slots=True)
class PlanConfig:
    horizon_days: int = 7
    max_wait_days: int = 2
    """A job that would wait longer than this at its own point looks for room elsewhere."""
    travel_km: float = 40.0


@dataclass(frozen=True, slots=True)
class OpenJob:
    ticket_id: int
    code: str
    kind: str
    opened_at: datetime
    device_id: str
    vulnerable: bool
    latitude: float | None
    longitude: float | None


def need_of(job: OpenJob) -> Need:
    if job.kind in ("emergency", "urgent"):
        return Need.SAFETY
    if job.kind == "planned":
        return Need.ADVISORY
    entry = load_catalog().get(job.code)
    stopped = entry is None or entry.lockout in _STOPPED
    if stopped:
        return Need.NO_HEAT_VULNERABLE if job.vulnerable else Need.NO_HEAT
    return Need.DEGRADED


@dataclass(frozen=True, slots=True)
class PlannedJob:
    ticket_id: int
    device_id: str
    need: Need
    point_id: str | None
    """Where the visit would come from: the ticket's own point, another (overflow), or None (no room)."""
    day: date | None
    slot: str | None
    overflow_km: float | None
    """The home's distance from the overflow point; None when the visit stays with its own point."""


def plan_jobs(
    jobs: Sequence[OpenJob], own_point: str, windows: Mapping[str, list[Slot]], points: Sequence[ServicePoint],
    config: PlanConfig, today: date,
) -> list[PlannedJob]:  # fmt: skip
    """Place the jobs, most needed first, in the windows (each window's `free` places are consumed)."""
    free = {p: {(s.day, s.slot): s.free for s in slots} for p, slots in windows.items()}
    others = [p for p in points if p.point_id != own_point and p.point_id in free]
    planned = []
    for job in sorted(jobs, key=lambda j: (need_of(j), j.opened_at, j.ticket_id)):
        mine = _earliest(free.get(own_point, {}))
        choice: tuple[str, tuple[date, str], float | None] | None = (own_point, mine, None) if mine else None
        if mine is None or (mine[0] - today).days > config.max_wait_days:
            choice = _overflow(job, mine, others, free, config) or choice
        if choice is None:
            planned.append(PlannedJob(job.ticket_id, job.device_id, need_of(job), None, None, None, None))
            continue
        point_id, window, km = choice
        free[point_id][window] -= 1
        planned.append(
            PlannedJob(job.ticket_id, job.device_id, need_of(job), point_id, window[0], window[1], km)
        )
    return planned


def _overflow(
    job: OpenJob, mine: tuple[date, str] | None, others: Sequence[ServicePoint],
    free: Mapping[str, Mapping[tuple[date, str], int]], config: PlanConfig,
) -> tuple[str, tuple[date, str], float | None] | None:  # fmt: skip
    """The nearest other point within the travel bound that can come sooner than the job's own."""
    if job.latitude is None or job.longitude is None:
        return None
    lat, lon = job.latitude, job.longitude
    by_distance = sorted(
        ((haversine_km(lat, lon, p.latitude, p.longitude), p) for p in others), key=lambda kp: kp[0]
    )
    for km, point in by_distance:
        if km > config.travel_km:
            break
        theirs = _earliest(free[point.point_id])
        if theirs is not None and (mine is None or theirs < mine):
            return point.point_id, theirs, round(km, 1)
    return None


def _earliest(windows: Mapping[tuple[date, str], int]) -> tuple[date, str] | None:
    open_windows = sorted(w for w, n in windows.items() if n > 0)
    return open_windows[0] if open_windows else None


async def dispatch_plan(
    conn: Connection, point_id: str, config: PlanConfig, now: datetime
) -> list[PlannedJob]:
    """The plan for a point's open work, from tomorrow over the horizon."""
    jobs = [OpenJob(**dict(r)) for r in await conn.fetch(_Q["open_work"], point_id)]
    first = kst_day(now) + timedelta(days=1)
    directory = (await ServicePointDirectory.load(conn)).points
    own = next((p for p in directory if p.point_id == point_id), None)
    if own is None:
        return []
    reach = 2 * config.travel_km + own.coverage_km  # points a home of this point could overflow to
    points = [p for p in directory
              if haversine_km(own.latitude, own.longitude, p.latitude, p.longitude) <= reach]  # fmt: skip
    windows = {p.point_id: await link_store.free_slots(conn, point_id=p.point_id, first_day=first, days=config.horizon_days)
               for p in points}  # fmt: skip
    return plan_jobs(jobs, point_id, windows, points, config, first - timedelta(days=1))
