"""Capacity-aware priority: a full point's open work ranked by need, each job given the earliest window
here or at the nearest point with room within the travel bound, and nothing when there is none."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import asyncpg

from diagnostics.cold_wave.dispatch_plan import Need, OpenJob, PlanConfig, plan_jobs
from diagnostics.customer_link.store import Slot
from diagnostics.service_points import ServicePoint
from testbed.support import ApiClient, insert_ticket, register_full, seed_points

TODAY = date(2026, 12, 14)
HOME = (37.52, 127.05)
OPENED = datetime(2026, 12, 14, 9, tzinfo=UTC)


def _job(ticket_id: int, code: str, kind: str = "repair", *, vulnerable: bool = False, minutes: int = 0,
         at: tuple[float, float] | None = HOME) -> OpenJob:  # fmt: skip
    lat, lon = at if at else (None, None)
    return OpenJob(
        ticket_id, code, kind, OPENED + timedelta(minutes=minutes), f"d{ticket_id}", vulnerable, lat, lon
    )


def _point(point_id: str, lat: float, lon: float) -> ServicePoint:
    return ServicePoint(point_id, point_id, "city", "seoul", lat, lon, 20.0, 4)


def _windows(*days: tuple[int, str, int]) -> list[Slot]:
    return [Slot(TODAY + timedelta(days=d), slot, free, free) for d, slot, free in days]


def test_the_most_needed_get_the_first_windows_and_the_rest_overflow_or_wait() -> None:
    own, near, far = _point("own", 37.52, 127.05), _point("near", 37.55, 127.10), _point("far", 36.35, 127.38)
    jobs = [
        _job(1, "A01", "planned"),
        _job(2, "E062", minutes=1),  # a sensor warning: the boiler still runs
        _job(3, "E003", minutes=2),  # ignition lockout: no heat
        _job(4, "E003", vulnerable=True, minutes=3),  # no heat, an elderly person alone
        _job(5, "E004", "urgent", minutes=4),  # safety
        _job(6, "E003", minutes=5, at=None),  # no position: cannot overflow
    ]
    windows = {"own": _windows((1, "am", 1), (1, "pm", 1), (5, "am", 2)), "near": _windows((2, "am", 1)),
               "far": _windows((1, "am", 9))}  # fmt: skip
    plan = plan_jobs(jobs, "own", windows, [own, near, far], PlanConfig(max_wait_days=2, travel_km=40), TODAY)
    by_ticket = {p.ticket_id: p for p in plan}
    assert [p.ticket_id for p in plan] == [5, 4, 3, 6, 2, 1], "need first, then age"
    assert [p.need for p in plan] == [Need.SAFETY, Need.NO_HEAT_VULNERABLE, Need.NO_HEAT, Need.NO_HEAT,
                                      Need.DEGRADED, Need.ADVISORY]  # fmt: skip
    assert (by_ticket[5].point_id, by_ticket[5].day, by_ticket[5].slot) == (
        "own",
        TODAY + timedelta(days=1),
        "am",
    )
    assert (by_ticket[4].point_id, by_ticket[4].slot) == ("own", "pm")
    # The own point's next window is 5 days away: the nearby point comes sooner; the far one is out of reach.
    assert (by_ticket[3].point_id, by_ticket[3].day) == ("near", TODAY + timedelta(days=2))
    assert by_ticket[3].overflow_km is not None
    assert by_ticket[3].overflow_km < 40
    assert (by_ticket[6].point_id, by_ticket[6].day) == ("own", TODAY + timedelta(days=5)), (
        "no position: waits"
    )
    assert (by_ticket[2].point_id, by_ticket[2].day) == ("own", TODAY + timedelta(days=5))
    assert by_ticket[1].point_id is None, "no room left in the horizon: said so, not invented"


async def test_the_plan_through_the_api_for_a_full_point(db: asyncpg.Connection, db_dsn: str) -> None:
    await seed_points(db)
    await db.execute("UPDATE service_points SET daily_capacity = 1 WHERE point_id = 'SP-001'")
    for i, code in enumerate(("E003", "E003", "E062")):
        await register_full(
            db, f"dp-{i}", latitude=37.517, longitude=127.047, region="seoul", installed_on=date(2020, 1, 1)
        )
        await insert_ticket(db, f"dp-{i}", "SP-001", code=code)
    await db.execute("UPDATE devices SET vulnerable = true WHERE device_id = 'dp-1'")
    async with ApiClient(db_dsn, role="agent") as agent:
        answer = await agent.get("/v1/service-points/SP-001/dispatch-plan")
        assert answer.status_code == 200, answer.text
        plan = answer.json()
    assert next((p["need"], p["point_id"] == "SP-001") for p in plan) == ("no_heat_vulnerable", True)
    assert [p["need"] for p in plan] == ["no_heat_vulnerable", "no_heat", "degraded"]
    assert plan[1]["overflow_km"] is not None, (
        "one visit a day here: the next job goes to a neighbour with room"
    )
    async with ApiClient(db_dsn, role="technician", scope={"service_point_id": "SP-002"}) as other:
        assert (await other.get("/v1/service-points/SP-001/dispatch-plan")).status_code == 404
