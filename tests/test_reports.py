"""The service and care figures on a fleet with known tickets, against expectations computed by hand
(the definitions are in diagnostics/reports/queries/reports.sql and docs/reports.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from diagnostics.reports.figures import (
    Bucket,
    GroupBy,
    ReportScope,
    care_figures,
    service_by_group,
    service_figures,
    top_codes,
    volume,
)
from diagnostics.reports.rollups import refresh_report_rollups
from telemetry.korean_time import KST
from testbed.support import ApiClient, register_full, seed_points

DAY = date(2026, 11, 10)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=KST)


async def _case(
    db: asyncpg.Connection, device: str, family: str, opened: datetime, status: str = "ticketed"
) -> int:
    return int(await db.fetchval(
        "INSERT INTO fault_cases (device_id, family, code, status, first_raised_at, last_raised_at, rule, opened_at)"
        " VALUES ($1, $2, 'E003', $3, $4, $4, 'test', $4) RETURNING case_id", device, family, status, opened,
    ))  # fmt: skip


async def _ticket(
    db: asyncpg.Connection, device: str, family: str, opened: datetime, *, contacted: datetime | None = None,
    moves: tuple[tuple[str, datetime], ...] = (), status: str = "open", region: str = "seoul",
) -> int:  # fmt: skip
    case_id = await _case(
        db, device, family, opened, "closed" if status in ("resolved", "resolved_remotely") else "ticketed"
    )
    ticket_id = int(await db.fetchval(
        "INSERT INTO tickets (case_id, device_id, family, code, codes, kind, status, priority, first_raised_at,"
        " last_raised_at, contact_due_at, contacted_at, service_point_id, region, rule, evidence, opened_at)"
        " VALUES ($1, $2, $3, 'E003', '{E003}', 'repair', $4, 3, $5::timestamptz, $5, $5::timestamptz + interval '1 hour', $6, 'SP-001', $7,"
        " 'test', '{}', $5) RETURNING ticket_id", case_id, device, family, status, opened, contacted, region,
    ))  # fmt: skip
    await db.execute("UPDATE fault_cases SET ticket_id = $2 WHERE case_id = $1", case_id, ticket_id)
    for to, when in moves:
        await db.execute("INSERT INTO ticket_transitions (ticket_id, to_status, at, actor) VALUES ($1, $2, $3, 'test')",
                         ticket_id, to, when)  # fmt: skip
    return ticket_id


async def _survey(db: asyncpg.Connection, ticket_id: int, device: str, score: int, flagged: bool) -> None:
    case_id = await db.fetchval("SELECT case_id FROM tickets WHERE ticket_id = $1", ticket_id)
    link = await db.fetchval("INSERT INTO customer_links (case_id, device_id, phone, salt, expires_at) VALUES"
                             " ($1, $2, '+821000000000', '\\x00', now()) RETURNING link_id", case_id, device)  # fmt: skip
    await db.execute("INSERT INTO customer_surveys (ticket_id, link_id, score, solved, flagged) VALUES ($1, $2, $3, $4, $5)",
                     ticket_id, link, score, not flagged, flagged)  # fmt: skip


async def test_the_figures_match_what_was_computed_by_hand(db: asyncpg.Connection, db_dsn: str) -> None:
    await seed_points(db)
    for device, region in (("r-1", "seoul"), ("r-2", "seoul"), ("r-3", "seoul"), ("r-5", "seoul"), ("r-6", "busan"),
                           ("r-7", "seoul"), ("r-8", "seoul")):  # fmt: skip
        await register_full(
            db, device, latitude=37.5, longitude=127.0, region=region, installed_on=date(2020, 1, 1)
        )
    # T1: contacted after 30 min (in time), dispatched after 4 h, resolved after 6 h; never back.
    t1 = await _ticket(db, "r-1", "ignition_flame", at(DAY, 10), contacted=at(DAY, 10, 30), status="resolved",
                       moves=(("dispatched", at(DAY, 14)), ("resolved", at(DAY, 16))))  # fmt: skip
    # T2: contacted after 90 min (late), dispatched after 22 h, resolved after 23 h; back 9 days later (T4).
    t2 = await _ticket(db, "r-2", "ignition_flame", at(DAY, 11), contacted=at(DAY, 12, 30), status="resolved",
                       moves=(("dispatched", at(DAY + timedelta(days=1), 9)), ("resolved", at(DAY + timedelta(days=1), 10))))  # fmt: skip
    # T3: never contacted, deadline long past.
    await _ticket(db, "r-3", "ignition_flame", at(DAY, 12))
    await db.execute(
        "INSERT INTO inbound_calls (at, region, device_id) VALUES ($1, 'seoul', 'r-3')", at(DAY, 10)
    )
    # T4 (outside the period), T5 cancelled, T6 in Busan: not counted in Seoul's day.
    await _ticket(db, "r-2", "ignition_flame", at(DAY + timedelta(days=10), 9))
    await _ticket(db, "r-5", "water_flow", at(DAY, 9), status="cancelled")
    await _ticket(db, "r-6", "ignition_flame", at(DAY, 9), region="busan")
    # C7: fixed by the customer; T8: contacted after 10 min, resolved remotely after 2 h.
    await _case(db, "r-7", "ignition_flame", at(DAY, 8), "resolved_by_customer")
    await _ticket(db, "r-8", "ignition_flame", at(DAY, 13), contacted=at(DAY, 13, 10), status="resolved_remotely",
                  moves=(("resolved_remotely", at(DAY, 15)),))  # fmt: skip
    await _survey(db, t1, "r-1", 4, False)
    await _survey(db, t2, "r-2", 2, True)

    # T2's prediction: foreseen 50 hours before its hard fault arrived.
    await db.execute(
        "INSERT INTO predictions (device_id, code, family, detector, status, predicted_at, evidence, ticket_id,"
        " confirmed_code, confirmed_at) VALUES ('r-2', 'A01', 'ignition_flame', 'test', 'confirmed', $1, '{}', $2,"
        " 'E003', $3)", at(DAY, 11) - timedelta(hours=48), t2, at(DAY, 13),
    )  # fmt: skip
    await _refresh(db)

    for raw in (False, True):
        await _check_the_day(db, raw)

    async with ApiClient(db_dsn, role="agent") as agent:
        answer = await agent.get("/v1/reports/service", params={"first": "2026-11-10", "last": "2026-11-10",
                                                                "region": "seoul"})  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert answer.json()["service"]["tickets"] == 4
        assert answer.json()["care"]["self_fixed"] == 1
        assert answer.json()["as_of"] is not None
        bad = await agent.get("/v1/reports/service", params={"first": "2026-11-11", "last": "2026-11-10"})
        assert bad.status_code == 422


async def _refresh(db: asyncpg.Connection) -> None:
    async with db.transaction():
        done = await refresh_report_rollups(db, now=datetime.now(UTC))
    assert not done.skipped


async def _check_the_day(db: asyncpg.Connection, raw: bool) -> None:
    seoul = ReportScope(DAY, DAY, region="seoul", raw=raw)
    service = await service_figures(db, seoul)
    assert (service.tickets, service.contacted_in_time, service.resolved) == (4, 2, 3)
    assert service.contact_minutes_p50 == pytest.approx(30)  # median of 30, 90, 10
    assert service.visit_hours_p50 == pytest.approx(13)  # median of 4, 22
    assert service.repair_hours_p50 == pytest.approx(6)  # median of 6, 23, 2
    assert (service.first_visit_fixed, service.repeat_within_30d) == (2, 1)
    assert service.sla_breached == 2  # T2 late, T3 never
    assert (service.breach_contact_late, service.breach_not_contacted) == (1, 1)

    care = await care_figures(db, seoul)
    # Cases opened that day in Seoul: T1, T2, T3, T5 (its ticket was cancelled), C7, T8.
    assert (care.cases, care.self_fixed, care.fixed_remotely, care.dispatched) == (6, 1, 1, 2)
    # Tickets opened that day in Seoul, the cancelled T5 left out as in the service figures: T1, T2, T3, T8.
    assert (care.tickets, care.proactive_tickets) == (4, 3), "T3's customer had called first"
    assert (care.survey_answers, care.survey_flagged) == (2, 1)
    assert care.survey_score_avg == pytest.approx(3.0)
    assert (care.predicted, care.predicted_confirmed) == (1, 1)
    assert care.lead_hours_p50 == pytest.approx(50)

    everywhere = await service_figures(db, ReportScope(DAY, DAY, raw=raw))
    assert everywhere.tickets == 5, "Busan's ticket counts without a region filter"


async def _raise(
    db: asyncpg.Connection, device: str, code: str, when: datetime, state: str = "raised"
) -> None:
    await db.execute(
        "INSERT INTO events (device_id, ts, seq, received_at, code, state) VALUES ($1, $2,"
        " (SELECT count(*) FROM events), $2, $3, $4)", device, when, code, state,
    )  # fmt: skip


async def test_volumes_and_top_codes_count_by_korean_day_and_move_between_months(
    db: asyncpg.Connection, db_dsn: str
) -> None:
    await seed_points(db)
    await register_full(
        db, "v-a", latitude=37.5, longitude=127.0, region="seoul", installed_on=date(2020, 1, 1)
    )
    await register_full(db, "v-b", latitude=35.1, longitude=129.0, region="busan", installed_on=date(2020, 1, 1),
                        model="NCB-500")  # fmt: skip
    oct5, nov2 = date(2026, 10, 5), date(2026, 11, 2)  # both Mondays
    for minute in (1, 2, 3):
        await _raise(db, "v-a", "E003", at(oct5, 9, minute))
    await _raise(db, "v-b", "E010", at(oct5, 10))
    await _raise(db, "v-a", "E003", at(nov2, 9))
    await _raise(db, "v-a", "E001", at(nov2, 9, 5))
    await _raise(db, "v-a", "E001", at(nov2, 9, 6), state="cleared")  # a clearance is not a fault
    await _raise(db, "v-b", "E010", at(nov2, 11))
    # 00:30 on Tuesday in Korea is still Monday in UTC: it counts on Tuesday, hour 0.
    await _raise(db, "v-b", "E010", at(nov2 + timedelta(days=1), 0, 30))
    await db.execute("INSERT INTO inbound_calls (at, region, device_id) VALUES ($1, 'seoul', 'v-a')",
                     at(nov2 + timedelta(days=1), 0, 40))  # fmt: skip
    await _refresh(db)

    for raw in (False, True):
        scope = ReportScope(oct5, date(2026, 11, 30), raw=raw)
        by_code = {(r.bucket, r.group): r.n for r in await volume(db, scope, Bucket.MONTH, GroupBy.CODE)
                   if r.kind == "fault"}  # fmt: skip
        assert by_code == {("2026-10", "E003"): 3, ("2026-10", "E010"): 1,
                           ("2026-11", "E001"): 1, ("2026-11", "E003"): 1, ("2026-11", "E010"): 2}  # fmt: skip
        by_model = {(r.bucket, r.group): r.n for r in await volume(db, scope, Bucket.MONTH, GroupBy.MODEL)
                    if r.kind == "fault"}  # fmt: skip
        assert by_model == {("2026-10", "NCB-300"): 3, ("2026-10", "NCB-500"): 1,
                            ("2026-11", "NCB-300"): 2, ("2026-11", "NCB-500"): 2}  # fmt: skip
        weekdays = {(r.bucket, r.kind): r.n for r in await volume(db, scope, Bucket.WEEKDAY)}
        assert weekdays == {("1", "fault"): 7, ("2", "fault"): 1, ("2", "call"): 1}
        weeks = {r.bucket for r in await volume(db, scope, Bucket.WEEK)}
        assert weeks == {"2026-W41", "2026-W45"}
        hours = {
            (r.bucket, r.group, r.kind): r.n for r in await volume(db, scope, Bucket.HOUR, GroupBy.REGION)
        }
        assert hours == {("0", "busan", "fault"): 1, ("0", "seoul", "call"): 1, ("9", "seoul", "fault"): 5,
                         ("10", "busan", "fault"): 1, ("11", "busan", "fault"): 1}  # fmt: skip
        in_busan = await volume(db, ReportScope(oct5, date(2026, 11, 30), region="busan", raw=raw), Bucket.MONTH,
                                code="E010")  # fmt: skip
        assert [(r.bucket, r.n) for r in in_busan] == [("2026-10", 1), ("2026-11", 2)]

        top = await top_codes(db, scope, Bucket.MONTH, limit=2)
        assert [(t.bucket, t.code, t.n, t.rank, t.previous_n, t.previous_rank) for t in top] == [
            ("2026-10", "E003", 3, 1, None, None),
            ("2026-10", "E010", 1, 2, None, None),
            ("2026-11", "E010", 2, 1, 1, 2),  # up from second
            ("2026-11", "E001", 1, 2, None, None),  # new this month
            ("2026-11", "E003", 1, 2, 3, 1),  # down from first (a tie at 1 shares the rank)
        ]
        with pytest.raises(ValueError, match="region or service point"):
            await volume(db, scope, Bucket.HOUR, GroupBy.CODE)

    async with ApiClient(db_dsn, role="agent") as agent:
        params = {"first": "2026-10-01", "last": "2026-11-30", "bucket": "month", "by": "code"}
        answer = await agent.get("/v1/reports/volume", params=params)
        assert answer.status_code == 200, answer.text
        assert {"bucket": "2026-11", "group": "E010", "kind": "fault", "n": 2} in answer.json()["rows"]
        sheet = await agent.get("/v1/reports/volume", params={**params, "format": "csv"})
        assert sheet.status_code == 200
        assert sheet.headers["content-type"].startswith("text/csv")
        lines = sheet.content.decode("utf-8-sig").splitlines()
        assert lines[0] == "bucket,group,kind,n"
        assert "2026-11,E010,fault,2" in lines
        refused = await agent.get("/v1/reports/volume", params={**params, "bucket": "hour"})
        assert refused.status_code == 422
        assert "region or service point" in refused.text
        ranked = await agent.get(
            "/v1/reports/top-codes", params={"first": "2026-10-01", "last": "2026-11-30"}
        )
        assert ranked.json()["rows"][0]["code"] == "E003"


async def test_point_figures_come_with_the_fleet_spread_and_old_tickets_are_judged_again(
    db: asyncpg.Connection, db_dsn: str
) -> None:
    await seed_points(db)
    for device in ("g-1", "g-2", "g-3"):
        await register_full(
            db, device, latitude=37.5, longitude=127.0, region="seoul", installed_on=date(2020, 1, 1)
        )
    points = [
        r["point_id"] for r in await db.fetch("SELECT point_id FROM service_points ORDER BY point_id LIMIT 2")
    ]
    late = await _ticket(db, "g-1", "ignition_flame", at(DAY, 10))  # not contacted yet
    await _ticket(db, "g-2", "ignition_flame", at(DAY, 10), contacted=at(DAY, 10, 20))
    await _ticket(db, "g-3", "ignition_flame", at(DAY, 11), contacted=at(DAY, 11, 40))
    await db.execute("UPDATE tickets SET service_point_id = $1 WHERE device_id = 'g-1'", points[0])
    await db.execute("UPDATE tickets SET service_point_id = $1 WHERE device_id <> 'g-1'", points[1])
    await _refresh(db)
    scope = ReportScope(DAY, DAY)
    groups = await service_by_group(db, scope, GroupBy.POINT)
    assert groups[points[0]].contacted_in_time == 0
    assert groups[points[0]].breach_not_contacted == 1
    assert groups[points[1]].contact_minutes_p50 == pytest.approx(30)  # median of 20 and 40

    # Weeks later the late ticket is contacted: a refresh whose window no longer covers its day
    # still judges it again, because it changed.
    await db.execute("UPDATE tickets SET contacted_at = $2, updated_at = clock_timestamp() WHERE ticket_id = $1",
                     late, at(DAY, 12))  # fmt: skip
    async with db.transaction():
        done = await refresh_report_rollups(db, now=datetime.now(UTC), window_days=1)
    assert done.tickets_judged_again == 1
    again = await service_by_group(db, scope, GroupBy.POINT)
    assert again[points[0]].contact_minutes_p50 == pytest.approx(120)
    assert again[points[0]].breach_contact_late == 1
    assert again == await service_by_group(db, ReportScope(DAY, DAY, raw=True), GroupBy.POINT)

    async with ApiClient(db_dsn, role="agent") as agent:
        answer = await agent.get("/v1/reports/service-groups",
                                 params={"first": "2026-11-10", "last": "2026-11-10", "by": "point"})  # fmt: skip
        assert answer.status_code == 200, answer.text
        spread = answer.json()["spread"]["contact_rate"]
        assert (spread["groups"], spread["low"], spread["high"]) == (2, 0.0, 1.0)
        assert spread["median"] == pytest.approx(0.5)


async def test_reading_the_happy_call_comments_is_in_the_access_log(
    db: asyncpg.Connection, db_dsn: str
) -> None:
    """A comment is the customer's own words: whoever reads them, the view is logged with the device."""
    await seed_points(db)
    await register_full(
        db, "c-1", latitude=37.5, longitude=127.0, region="seoul", installed_on=date(2020, 1, 1)
    )
    ticket = await _ticket(db, "c-1", "ignition_flame", at(DAY, 10), contacted=at(DAY, 10, 5), status="resolved",
                           moves=(("resolved", at(DAY, 12)),))  # fmt: skip
    await _survey(db, ticket, "c-1", 5, False)
    await db.execute("UPDATE customer_surveys SET comment = '기사님 최고' WHERE ticket_id = $1", ticket)
    await _refresh(db)
    async with ApiClient(db_dsn, role="agent") as agent:
        answer = await agent.get("/v1/reports/comments", params={"first": "2026-11-10", "last": "2026-11-10"})
        assert answer.status_code == 200, answer.text
        assert [(r["comment"], r["device_id"]) for r in answer.json()["rows"]] == [("기사님 최고", "c-1")]
    logged = await db.fetch(
        "SELECT action, subject, device_id FROM record_access_log WHERE subject = 'survey_comments'"
    )
    assert [tuple(r) for r in logged] == [("view", "survey_comments", "c-1")]
