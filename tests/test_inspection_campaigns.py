"""The pre-season inspection campaign in the store: a plan for 10,000 boilers and 150 service points,
re-planned without changes, made once by two planners at a time; reminders that keep out of the night
and send offers only with marketing consent; follow-ups; answers and visits through the API; the
command line."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg
import pytest

from diagnostics.campaigns.jobs import CampaignJobs
from diagnostics.campaigns.plan import CampaignConfig, campaign_window, load_risks, plan_campaign
from diagnostics.campaigns.planner import RiskWeights
from diagnostics.campaigns.reminders import reminder_kind, send_reminders
from diagnostics.messages.quiet_hours import reminder_quiet_until
from diagnostics.service_points import load_seed, seed_service_points
from ondol.campaign_fleet import build_campaign_fleet, store_campaign_fleet
from ondol.local_servers import PostgresServer
from outbox.alerts.delivery import AlertConfig, AlertDeliverer
from outbox.alerts.providers import SinkProvider
from telemetry.database import create_pool
from telemetry.korean_time import KST
from testbed.servers import create_database, database_name, drop_database, temporary_database
from testbed.support import ApiClient
from tests.conftest import TEMPLATE_DB

SEASON = 2026
PLAN_DAY = date(2026, 8, 11)  # three weeks before the window opens
CONFIG = CampaignConfig()
POINTS = load_seed()[:150]


@pytest.fixture(scope="module")
def fleet_template(pg_server: PostgresServer, pg_dsn: str) -> Iterator[str]:
    """A database with 150 service points and 10,000 boilers, cloned for each test."""
    name = database_name("bs_fleet")

    async def create() -> None:
        conn = await asyncpg.connect(await create_database(pg_server, name, TEMPLATE_DB))
        try:
            async with conn.transaction():
                await seed_service_points(conn, POINTS)
            fleet = build_campaign_fleet(10_000, POINTS, seed=7, on=PLAN_DAY)
            await store_campaign_fleet(conn, fleet, on=PLAN_DAY)
        finally:
            await conn.close()

    asyncio.run(create())
    yield name
    asyncio.run(drop_database(pg_server, name))


@pytest.fixture
async def fleet_dsn(pg_server: PostgresServer, fleet_template: str) -> AsyncIterator[str]:
    async with temporary_database(pg_server, "bs", fleet_template) as dsn:
        yield dsn


@pytest.fixture
async def fleet(fleet_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(fleet_dsn)
    yield conn
    await conn.close()


async def _snapshot(db: asyncpg.Connection) -> tuple[list[tuple[Any, ...]], int, int]:
    rows = [tuple(r) for r in await db.fetch("SELECT * FROM inspections ORDER BY inspection_id")]
    events = await db.fetchval("SELECT count(*) FROM outbox_events WHERE event_type LIKE 'inspection.%'")
    history = await db.fetchval("SELECT count(*) FROM inspection_history")
    return rows, events, history


async def test_the_plan_fits_every_point_and_puts_the_riskiest_first(fleet: asyncpg.Connection) -> None:
    report = await plan_campaign(fleet, SEASON, today=PLAN_DAY, config=CONFIG)
    window = campaign_window(SEASON, CONFIG)
    assert report.considered == 10_000
    assert report.selected > 3_000, "a fleet of this age needs thousands of inspections"
    slots = {p.point_id: max(1, p.daily_capacity // 3) for p in POINTS}
    per_day = await fleet.fetch("SELECT point_id, day, count(*) AS n FROM inspections GROUP BY point_id, day")
    assert all(r["n"] <= slots[r["point_id"]] for r in per_day), "a service point over capacity"
    working = set(window.days())
    assert all(r["day"] in working for r in per_day), "an inspection on a Sunday or outside the window"
    rows = await fleet.fetch("SELECT score, day, risk_rank FROM inspections ORDER BY risk_rank")
    assert (
        len(rows)
        == report.selected
        == await fleet.fetchval("SELECT count(DISTINCT device_id) FROM inspections")
    )
    decile = rows[: len(rows) // 10]
    first_third_ends = window.first + (window.last - window.first) / 3
    late = [r for r in decile if r["day"] > first_third_ends]
    assert late == [], f"{len(late)} of the top-risk decile after {first_third_ends}"
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    planned = await fleet.fetchval(
        "SELECT count(*) FROM outbox_events WHERE event_type = 'inspection.planned'"
    )
    assert planned == report.selected, "each inspection is one call-center work item"


async def test_a_second_run_over_the_same_data_changes_nothing(fleet: asyncpg.Connection) -> None:
    await plan_campaign(fleet, SEASON, today=PLAN_DAY, config=CONFIG)
    before = await _snapshot(fleet)
    again = await plan_campaign(fleet, SEASON, today=PLAN_DAY, config=CONFIG)
    assert not again.changed
    assert (again.new, again.moved, again.rescored, again.withdrawn, again.lapsed) == (0, 0, 0, 0, 0)
    assert await _snapshot(fleet) == before
    assert await fleet.fetchval("SELECT plan_runs FROM campaigns WHERE season = $1", SEASON) == 2


async def test_two_planners_at_once_make_one_plan(fleet_dsn: str) -> None:
    first, second = await asyncpg.connect(fleet_dsn), await asyncpg.connect(fleet_dsn)
    try:
        reports = await asyncio.gather(
            plan_campaign(first, SEASON, today=PLAN_DAY, config=CONFIG),
            plan_campaign(second, SEASON, today=PLAN_DAY, config=CONFIG),
        )
        assert sorted(r.new for r in reports) == [0, reports[0].selected]
        assert await first.fetchval("SELECT count(*) FROM campaigns") == 1
        assert await first.fetchval("SELECT count(*) FROM inspections") == reports[0].selected
        planned = await first.fetchval(
            "SELECT count(*) FROM outbox_events WHERE event_type = 'inspection.planned'"
        )
        assert planned == reports[0].selected
    finally:
        await first.close()
        await second.close()


async def test_a_replan_keeps_answers_and_reuses_freed_slots(fleet: asyncpg.Connection) -> None:
    from diagnostics.campaigns.answers import answer_inspection

    await plan_campaign(fleet, SEASON, today=PLAN_DAY, config=CONFIG)
    top = await fleet.fetch("SELECT inspection_id, point_id, day FROM inspections ORDER BY risk_rank LIMIT 2")
    declined, moved = top[0], top[1]
    await answer_inspection(
        fleet, declined["inspection_id"], answer="decline", day=None, today=PLAN_DAY, actor="t"
    )
    new_day = date(2026, 10, 30)  # a Friday near the end
    await answer_inspection(
        fleet, moved["inspection_id"], answer="reschedule", day=new_day, today=PLAN_DAY, actor="t"
    )
    report = await plan_campaign(fleet, SEASON, today=PLAN_DAY, config=CONFIG)
    assert report.kept == 1
    after = {r["inspection_id"]: r for r in await fleet.fetch("SELECT * FROM inspections")}
    assert after[declined["inspection_id"]]["status"] == "declined"
    assert after[moved["inspection_id"]]["day"] == new_day
    assert after[moved["inspection_id"]]["status"] == "rescheduled"
    taken = [r for r in after.values() if r["point_id"] == declined["point_id"] and r["day"] == declined["day"]
             and r["status"] in ("proposed", "accepted", "rescheduled")]  # fmt: skip
    slots = next(max(1, p.daily_capacity // 3) for p in POINTS if p.point_id == declined["point_id"])
    assert len(taken) <= slots
    per_day = await fleet.fetch(
        "SELECT point_id, day, count(*) AS n FROM inspections WHERE status IN ('proposed','accepted','rescheduled')"
        " GROUP BY point_id, day"
    )
    assert all(r["n"] <= max(1, next(p.daily_capacity for p in POINTS if p.point_id == r["point_id"]) // 3)
               for r in per_day)  # fmt: skip


def test_reminders_wait_out_the_night_and_the_contacts_own_quiet_hours() -> None:
    at = lambda h, m=0: datetime(2026, 8, 20, h, m, tzinfo=KST)  # noqa: E731
    night_owl = (time(0, 0), time(0, 0))  # no quiet hours of their own
    assert reminder_quiet_until(at(22, 30), *night_owl) == datetime(2026, 8, 21, 8, 0, tzinfo=KST)
    assert reminder_quiet_until(at(7, 59), *night_owl) == at(8)
    assert reminder_quiet_until(at(8), *night_owl) is None
    assert reminder_quiet_until(at(20, 59), *night_owl) is None
    late_riser = (time(22, 0), time(9, 30))
    assert reminder_quiet_until(at(23), *late_riser) == datetime(2026, 8, 21, 9, 30, tzinfo=KST)
    assert reminder_quiet_until(at(8, 30), *late_riser) == at(9, 30)
    assert reminder_kind({"age": 3.0, "predictions": 1.5}) == "inspection"
    assert reminder_kind({"age": 3.0, "uninspected": 1.5}) == "inspection_offer"


def _kst_clock(hour: int, *, ahead: bool = False) -> Any:
    """A clock at `hour` Korean time on the real day (within 12 h of the database's clock), or with
    `ahead` the next such hour to come (within 24 h). A night clock must be ahead: deferred from a
    night already over (23:00 yesterday, with the real time past 08:00), an alert would be deferred
    to a morning the database's clock has passed, due again at once, and a drain would never end."""

    def now() -> datetime:
        real = datetime.now(UTC).astimezone(KST)
        shifted = real.replace(hour=hour, minute=0, second=0, microsecond=0)
        if ahead:
            return (shifted if shifted > real else shifted + timedelta(days=1)).astimezone(UTC)
        if shifted - real > timedelta(hours=12):
            shifted -= timedelta(days=1)
        elif real - shifted > timedelta(hours=12):
            shifted += timedelta(days=1)
        return shifted.astimezone(UTC)

    return now


async def test_reminders_go_out_by_day_not_at_night_and_offers_only_with_consent(fleet_dsn: str) -> None:
    pool = await create_pool(fleet_dsn, application_name="test", max_size=4)
    try:
        async with pool.acquire() as conn:
            await plan_campaign(conn, SEASON, today=PLAN_DAY, config=CONFIG)
            night = datetime(2026, 8, 12, 22, 30, tzinfo=KST)
            wave = await send_reminders(conn, SEASON, now=night, wave=0, config=CONFIG)
            assert wave.inspections > 0
            assert 0 < wave.offers < wave.alerts, (
                "a fleet this age gets offers and, for its predictions, notices"
            )
            alerts = await conn.fetch("SELECT * FROM customer_alerts WHERE inspection_id IS NOT NULL")
            assert len(alerts) == wave.alerts
            assert {a["not_before"] for a in alerts} == {datetime(2026, 8, 13, 8, 0, tzinfo=KST)}
            assert all(a["channel"] == "sms" for a in alerts if a["kind"] == "inspection_offer")
            assert all(
                a["message_ko"].startswith("(광고)") for a in alerts if a["kind"] == "inspection_offer"
            )
            assert not any("(광고)" in a["message_ko"] for a in alerts if a["kind"] == "inspection")
            reminded = await conn.fetchval("SELECT count(*) FROM inspections WHERE reminders = 1")
            assert reminded == wave.inspections
            # Due now (as if the morning had come), delivered by a worker whose clock says 23:00:
            await conn.execute(
                "UPDATE customer_alerts SET not_before = clock_timestamp() WHERE inspection_id IS NOT NULL"
            )
        chains = {"sms": [SinkProvider(pool, "sms")], "kakao": [SinkProvider(pool, "kakao")]}
        at_night = AlertDeliverer(pool, chains, AlertConfig(batch=500), clock=_kst_clock(23, ahead=True))
        while await at_night.deliver_due():
            pass
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM alert_sink_messages") == 0, (
                "a reminder sent at night"
            )
            statuses = dict(await conn.fetch(
                "SELECT a.status, count(*) FROM customer_alerts AS a GROUP BY a.status"))  # fmt: skip
            # offers to contacts without marketing consent are skipped at once, at any hour
            no_consent = await conn.fetchval(
                "SELECT count(*) FROM customer_alerts AS a JOIN device_contacts AS c USING (contact_id)"
                " WHERE a.kind = 'inspection_offer' AND NOT c.consent_marketing"
            )
            assert statuses.get("skipped") == no_consent > 0
            await conn.execute(
                "UPDATE customer_alerts SET not_before = clock_timestamp() WHERE status = 'pending'"
            )
        by_day = AlertDeliverer(pool, chains, AlertConfig(batch=1000), clock=_kst_clock(10))
        while await by_day.deliver_due():
            pass
        async with pool.acquire() as conn:
            sent = await conn.fetch(
                "SELECT a.kind, c.consent_marketing, m.channel FROM alert_sink_messages AS m"
                " JOIN customer_alerts AS a ON a.alert_id = m.alert_id JOIN device_contacts AS c USING (contact_id)"
            )
            assert len(sent) == wave.alerts - no_consent
            assert all(s["consent_marketing"] for s in sent if s["kind"] == "inspection_offer")
            assert all(s["channel"] == "sms" for s in sent if s["kind"] == "inspection_offer")
            assert any(not s["consent_marketing"] for s in sent if s["kind"] == "inspection"), \
                "a notice about the boiler's own fault needs no marketing consent"  # fmt: skip
            skipped = await conn.fetch(
                "SELECT DISTINCT last_error FROM customer_alerts WHERE status = 'skipped'"
            )
            assert [r["last_error"] for r in skipped] == ["no consent to advertising"]
    finally:
        await pool.close()


async def test_follow_ups_once_for_customers_who_did_not_answer(fleet: asyncpg.Connection) -> None:
    await plan_campaign(fleet, SEASON, today=PLAN_DAY, config=CONFIG)
    morning = datetime(2026, 8, 12, 10, 0, tzinfo=KST)
    first = await send_reminders(fleet, SEASON, now=morning, wave=0, config=CONFIG)
    assert (await send_reminders(fleet, SEASON, now=morning, wave=0, config=CONFIG)).inspections == 0, \
        "a reminder wave that runs again reminds nobody twice"  # fmt: skip
    answered = await fleet.fetchval(
        "SELECT inspection_id FROM inspections WHERE reminders = 1 ORDER BY inspection_id LIMIT 1"
    )
    from diagnostics.campaigns.answers import answer_inspection

    await answer_inspection(fleet, answered, answer="accept", day=None, today=PLAN_DAY, actor="customer")
    too_soon = await send_reminders(fleet, SEASON, now=morning + timedelta(days=1), wave=1, config=CONFIG)
    assert too_soon.inspections == 0
    later = morning + CONFIG.follow_up_after + timedelta(hours=1)
    follow = await send_reminders(fleet, SEASON, now=later, wave=1, config=CONFIG)
    assert follow.inspections == first.inspections - 1, "everyone reminded but the one who answered"
    assert (await send_reminders(fleet, SEASON, now=later, wave=1, config=CONFIG)).inspections == 0
    work_items = await fleet.fetchval(
        "SELECT count(*) FROM outbox_events WHERE event_type = 'inspection.updated' AND payload->>'action' = 'follow_up'"
    )
    assert work_items == follow.inspections
    waves = await fleet.fetchval(
        "SELECT count(*) FROM customer_alerts WHERE wave = 1 AND inspection_id IS NOT NULL"
    )
    assert waves == follow.alerts


async def test_the_device_overview_names_the_next_inspection(
    fleet_dsn: str, fleet: asyncpg.Connection
) -> None:
    await plan_campaign(fleet, SEASON, today=PLAN_DAY, config=CONFIG)
    row = await fleet.fetchrow(
        "SELECT inspection_id, device_id, point_id FROM inspections ORDER BY risk_rank LIMIT 1"
    )
    day = datetime.now(UTC).astimezone(KST).date() + timedelta(days=3)
    await fleet.execute("UPDATE inspections SET day = $2 WHERE inspection_id = $1", row["inspection_id"], day)
    point = await fleet.fetchrow(
        "SELECT name, name_en FROM service_points WHERE point_id = $1", row["point_id"]
    )
    async with ApiClient(fleet_dsn, "agent") as api:
        overview = await api.get(f"/v1/devices/{row['device_id']}/overview")
    assert overview.status_code == 200, overview.text
    assert overview.json()["next_inspection"] == {
        "inspection_id": row["inspection_id"], "season": SEASON, "day": day.isoformat(), "status": "proposed",
        "service_point_id": row["point_id"], "service_point_name": point["name"],
        "service_point_name_en": point["name_en"],
    }  # fmt: skip


async def test_answers_and_visits_through_the_api(fleet_dsn: str, fleet: asyncpg.Connection) -> None:
    await plan_campaign(fleet, SEASON, today=PLAN_DAY, config=CONFIG)
    row = await fleet.fetchrow("SELECT * FROM inspections ORDER BY risk_rank LIMIT 1")
    campaign_id, inspection_id, point = row["campaign_id"], row["inspection_id"], row["point_id"]
    today = datetime.now(UTC).astimezone(KST).date()
    # The API answers as of today: move the campaign so that its window is ahead of today.
    await fleet.execute(
        "UPDATE campaigns SET first_day = $1::date, last_day = $1::date + 120", today + timedelta(days=1)
    )
    async with ApiClient(fleet_dsn, "agent") as api:
        listed = (await api.get("/v1/campaigns")).json()["items"]
        assert listed[0]["season"] == SEASON
        assert sum(listed[0]["counts"].values()) == await fleet.fetchval("SELECT count(*) FROM inspections")
        page = await api.get(
            f"/v1/campaigns/{campaign_id}/inspections", params={"service_point": point, "limit": 5}
        )
        assert page.status_code == 200
        items = page.json()["items"]
        assert items
        assert all(i["service_point_id"] == point for i in items)
        assert [(i["day"], i["risk_rank"]) for i in items] == sorted(
            (i["day"], i["risk_rank"]) for i in items
        )
        nxt = await api.get(f"/v1/campaigns/{campaign_id}/inspections",
                            params={"service_point": point, "limit": 5, "cursor": page.json()["next_cursor"]})  # fmt: skip
        assert not {i["inspection_id"] for i in items} & {i["inspection_id"] for i in nxt.json()["items"]}
        by_status = await api.get(f"/v1/campaigns/{campaign_id}/inspections", params={"status": "declined"})
        assert by_status.json()["items"] == []
        sunday = next(
            today + timedelta(days=d) for d in range(2, 9) if (today + timedelta(days=d)).weekday() == 6
        )
        refused = await api.post(
            f"/v1/inspections/{inspection_id}/response",
            json={"answer": "reschedule", "day": sunday.isoformat()},
        )
        assert refused.status_code == 409
        assert "free days" in refused.json()["detail"]
        monday = sunday + timedelta(days=1)
        moved = await api.post(f"/v1/inspections/{inspection_id}/response",
                               json={"answer": "reschedule", "day": monday.isoformat(), "note": "오전 선호", "actor": "김상담"})  # fmt: skip
        assert moved.status_code == 200, moved.text
        body = moved.json()
        assert (body["status"], body["day"]) == ("rescheduled", monday.isoformat())
        assert body["history"][-1]["actor"].startswith("김상담 (via ")
        assert (
            await api.post(f"/v1/inspections/{inspection_id}/response", json={"answer": "reschedule"})
        ).status_code == 422
    async with ApiClient(fleet_dsn, "technician", {"service_point_id": point}) as tech:
        done = await tech.post(
            f"/v1/inspections/{inspection_id}/complete", json={"note": "배관 점검, 필터 청소"}
        )
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "completed"
        assert (await tech.post(f"/v1/inspections/{inspection_id}/complete", json={})).status_code == 409
    other_point = next(p.point_id for p in POINTS if p.point_id != point)
    async with ApiClient(fleet_dsn, "technician", {"service_point_id": other_point}) as stranger:
        assert (await stranger.get(f"/v1/inspections/{inspection_id}")).status_code == 404
    risk = next(r for r in await load_risks(fleet, today) if r.device_id == row["device_id"])
    assert risk.last_inspected == today
    assert (risk.burner_hours_since, risk.starts_since) == (0.0, 0), "the visit resets the counters"
    events = await fleet.fetch(
        "SELECT payload->>'action' AS action FROM outbox_events WHERE subject = $1 ORDER BY event_id",
        f"inspection/{inspection_id}",
    )
    assert [e["action"] for e in events] == ["planned", "rescheduled", "completed"]


async def test_customers_answer_only_their_own_inspections(fleet_dsn: str, fleet: asyncpg.Connection) -> None:
    await plan_campaign(fleet, SEASON, today=PLAN_DAY, config=CONFIG)
    mine, theirs = await fleet.fetch(
        "SELECT inspection_id, device_id FROM inspections ORDER BY risk_rank LIMIT 2"
    )
    phone = await fleet.fetchval("SELECT phone FROM device_contacts WHERE device_id = $1", mine["device_id"])
    await fleet.execute("UPDATE campaigns SET first_day = current_date + 1, last_day = current_date + 120")
    async with ApiClient(fleet_dsn, "customer", {"customer_phone": phone}) as customer:
        assert (await customer.get(f"/v1/inspections/{theirs['inspection_id']}")).status_code == 404
        declined = await customer.post(
            f"/v1/inspections/{mine['inspection_id']}/response", json={"answer": "decline"}
        )
        assert declined.status_code == 200, declined.text
        assert declined.json()["status"] == "declined"
        assert (
            await customer.post(f"/v1/inspections/{mine['inspection_id']}/complete", json={})
        ).status_code == 403
        assert (await customer.get("/v1/campaigns")).status_code == 403


def test_the_command_plans_with_a_summary_and_a_second_run_changes_nothing(fleet_dsn: str) -> None:
    # As of three weeks before next year's window: a day that has not passed whenever the test runs.
    season = _korean_today().year + 1
    command = [sys.executable, "-m", "ondol", "campaign", "plan", "--season", str(season),
               "--today", PLAN_DAY.replace(year=season).isoformat(), "--database-url", fleet_dsn]  # fmt: skip
    first = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert first.returncode == 0, first.stderr[-2000:]
    assert f"Inspection campaign {season}: {season}-09-01 to {season}-10-31" in first.stdout
    assert "boilers ranked 10,000" in first.stdout
    assert "writing" in first.stderr, "the progress bar is drawn on stderr"
    second = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "nothing changed" in second.stdout
    too_early = [*command[:5], "--season", "1999", "--database-url", fleet_dsn]
    assert subprocess.run(too_early, capture_output=True, text=True, timeout=60, check=False).returncode == 2


def _korean_today() -> date:
    return datetime.now(UTC).astimezone(KST).date()


def _plan_command(fleet_dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ondol", "campaign", "plan", *args, "--database-url", fleet_dsn]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


async def test_the_command_plans_no_day_that_has_passed_and_says_why_nothing_was_planned(
    fleet_dsn: str, fleet: asyncpg.Connection
) -> None:
    today = _korean_today()
    yesterday = today - timedelta(days=1)
    past = _plan_command(fleet_dsn, "--season", str(yesterday.year), "--today", yesterday.isoformat())
    assert past.returncode == 2, past.stdout
    assert f"--today {yesterday} has passed (today is {today}, Korean time)" in past.stderr
    assert await fleet.fetchval("SELECT count(*) FROM inspections") == 0
    assert await fleet.fetchval("SELECT count(*) FROM outbox_events") == 0, "the call center heard nothing"

    last_season = today.year - 1
    over = _plan_command(fleet_dsn, "--season", str(last_season))
    assert over.returncode == 0, over.stderr[-2000:]
    assert (
        f"no new inspection: the season's window ({last_season}-09-01 to {last_season}-10-31) is over: "
        f"today is {today}" in over.stdout
    )
    assert "nothing changed" not in over.stdout, "there is no stored plan to compare with"
    assert await fleet.fetchval("SELECT count(*) FROM campaigns") == 0, "an ended season is left alone"


async def test_a_season_whose_window_is_over_is_left_alone_and_says_so(fleet: asyncpg.Connection) -> None:
    await plan_campaign(fleet, SEASON, today=PLAN_DAY, config=CONFIG)
    before = await _snapshot(fleet)
    report = await plan_campaign(fleet, SEASON, today=date(2026, 11, 2), config=CONFIG)
    assert report.why_nothing_new == (
        "the season's window (2026-09-01 to 2026-10-31) is over: today is 2026-11-02",
    )
    assert (report.new, report.moved, report.withdrawn, report.lapsed, report.changed) == (0, 0, 0, 0, False)
    assert await _snapshot(fleet) == before, "nothing lapsed, moved, withdrawn or sent after the season"


async def test_a_plan_that_proposes_nothing_new_says_why(fleet: asyncpg.Connection) -> None:
    late = await plan_campaign(fleet, SEASON, today=date(2026, 10, 29), config=CONFIG)
    assert late.new == 0
    assert late.why_nothing_new == (
        "no working day of the window (2026-09-01 to 2026-10-31) is left from 2026-11-01, the earliest day "
        "a new visit can be proposed (today, 2026-10-29, and 3 days' notice)",
    )

    strict = CampaignConfig(weights=RiskWeights(min_score=100))
    nobody = await plan_campaign(fleet, 2027, today=date(2027, 8, 11), config=strict)
    assert (nobody.new, nobody.selected) == (0, 0)
    assert nobody.why_nothing_new == ("none of the 10,000 boilers ranked reaches the risk score of 100",)

    await fleet.execute("UPDATE service_points SET inspection_slots = 1")
    first = await plan_campaign(fleet, 2028, today=date(2028, 8, 11), config=CONFIG)
    assert first.new > 0
    assert first.over_capacity > 0
    full = await plan_campaign(fleet, 2028, today=date(2028, 8, 11), config=CONFIG)
    assert full.new == 0
    assert full.why_nothing_new == (
        f"{full.over_capacity:,} boilers at risk found no free slot at their service point in the window "
        "(a point's daily slots: service_points.inspection_slots)",
    )


async def test_the_jobs_plan_when_the_season_comes_and_replan_until_it_ends(
    fleet: asyncpg.Connection,
) -> None:
    jobs = CampaignJobs(CONFIG)
    at = lambda day: datetime.combine(day, time(3), tzinfo=KST)  # noqa: E731
    assert await jobs.plan_if_due(fleet, at(date(2026, 8, 10))) is None, (
        "too early: 22 days before the window"
    )
    assert await jobs.replan(fleet, at(date(2026, 8, 10))) is None, "nothing to re-plan before the first plan"
    first = await jobs.plan_if_due(fleet, at(date(2026, 8, 11)))
    assert first is not None
    assert first.new == first.selected > 0
    assert await jobs.plan_if_due(fleet, at(date(2026, 8, 12))) is None, (
        "planned once; the re-plan does the rest"
    )
    replanned = await jobs.replan(fleet, at(date(2026, 8, 12)))
    assert replanned is not None
    # A day older, a few boilers cross the threshold (or a warranty ends); nothing else moves.
    assert replanned.new < first.selected / 100
    assert replanned.selected == first.selected + replanned.new - replanned.withdrawn
    assert await jobs.replan(fleet, at(date(2026, 11, 1))) is None, "the season is over"


async def test_days_that_pass_lapse_if_the_customer_was_told_and_move_if_not(
    fleet: asyncpg.Connection,
) -> None:
    await plan_campaign(fleet, SEASON, today=PLAN_DAY, config=CONFIG)
    reminded = await send_reminders(
        fleet, SEASON, now=datetime(2026, 8, 12, 10, tzinfo=KST), wave=0, config=CONFIG
    )
    assert reminded.inspections > 0
    mid_window = date(2026, 9, 20)
    report = await plan_campaign(fleet, SEASON, today=mid_window, config=CONFIG)
    past = await fleet.fetch(
        "SELECT status, reminders FROM inspections WHERE day < $1 AND status NOT IN ('withdrawn')", mid_window
    )
    assert past, "reminded inspections keep their (now past) day"
    assert {(r["status"], r["reminders"]) for r in past} == {("lapsed", 1)}
    assert (
        report.lapsed
        == len(past)
        == reminded.inspections
        - await fleet.fetchval(
            "SELECT count(*) FROM inspections WHERE reminders = 1 AND day >= $1", mid_window
        )
    )
    assert report.moved > 0, "untold proposals whose day passed are placed again"
    earliest = await fleet.fetchval(
        "SELECT min(day) FROM inspections WHERE status = 'proposed' AND reminders = 0"
    )
    assert earliest >= mid_window + timedelta(days=CONFIG.notice_days)
