"""The console's campaign page counts a point's days against the slots the planner placed them in."""

from __future__ import annotations

import re
from datetime import date

import asyncpg

from diagnostics.campaigns.plan import CampaignConfig, plan_campaign
from diagnostics.campaigns.planner import RiskWeights
from telemetry import named_queries
from testbed.support import (
    console_client,
    console_sign_in,
    issue_api_key,
    register_full,
    seed_points,
    visible_text,
)

PLANNER: str = named_queries.load("campaigns", package="diagnostics.campaigns")["inspection_slots"]
"""The query the planner reads each point's daily inspection slots with."""


async def test_the_campaign_page_shows_the_slots_the_planner_uses(
    db: asyncpg.Connection, db_dsn: str
) -> None:
    await seed_points(db)
    for i in range(3):
        await register_full(db, f"dev-{i}", latitude=37.5665, longitude=126.978, region="seoul",
                            installed_on=date(2015, 1, 1))  # fmt: skip
    async with db.transaction():
        await plan_campaign(
            db, 2027, today=date(2027, 8, 11), config=CampaignConfig(weights=RiskWeights(min_score=0.0))
        )
    point = await db.fetchval("SELECT point_id FROM inspections LIMIT 1")
    planner_slots = {r["point_id"]: r["slots"] for r in await db.fetch(PLANNER)}
    capacity = await db.fetchval("SELECT daily_capacity FROM service_points WHERE point_id = $1", point)
    assert planner_slots[point] == capacity // 3 > 0  # no slots of its own: a third of its capacity

    async with console_client(db_dsn) as http:
        await console_sign_in(http, await issue_api_key(db_dsn, "agent"))
        page = await http.get("/console/campaign", params={"season": 2027, "service_point": point})
        assert page.status_code == 200
        days = re.search(r'<section class="card" aria-labelledby="days-h">.*?</section>', page.text, re.S)
        assert days is not None
        text = visible_text(days[0])
        assert f"하루 {planner_slots[point]}건" in text
        loads = re.findall(r"(\d+) / (\d+)", text)
        assert loads
        assert {int(slots) for _, slots in loads} == {planner_slots[point]}
        assert sum(int(booked) for booked, _ in loads) == 3

        # A point's own number of slots is what both read.
        await db.execute("UPDATE service_points SET inspection_slots = 1 WHERE point_id = $1", point)
        planner_slots = {r["point_id"]: r["slots"] for r in await db.fetch(PLANNER)}
        assert planner_slots[point] == 1
        page = await http.get("/console/campaign", params={"season": 2027, "service_point": point})
        assert "하루 1건" in visible_text(page.text)
        over = re.findall(r'<tr class="breached">.*?(\d+) / 1</td>', page.text, re.S)
        assert (over != []) == any(int(b) > 1 for b, _ in loads)  # more than one on a day: marked over-booked
