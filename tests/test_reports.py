"""The service and care figures on a fleet with known tickets, against expectations computed by hand
(the definitions are in diagnostics/reports/queries/reports.sql and docs/reports.md)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import asyncpg
import pytest

from diagnostics.reports.figures import ReportScope, care_figures, service_figures
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

    seoul = ReportScope(DAY, DAY, region="seoul")
    service = await service_figures(db, seoul)
    assert (service.tickets, service.contacted_in_time, service.resolved) == (4, 2, 3)
    assert service.contact_minutes_p50 == pytest.approx(30)  # median of 30, 90, 10
    assert service.visit_hours_p50 == pytest.approx(13)  # median of 4, 22
    assert service.repair_hours_p50 == pytest.approx(6)  # median of 6, 23, 2
    assert (service.first_visit_fixed, service.repeat_within_30d) == (2, 1)
    assert service.sla_breached == 2  # T2 late, T3 never

    care = await care_figures(db, seoul)
    # Cases opened that day in Seoul: T1, T2, T3, T5 (its ticket was cancelled), C7, T8.
    assert (care.cases, care.self_fixed, care.fixed_remotely, care.dispatched) == (6, 1, 1, 2)
    assert (care.tickets, care.proactive_tickets) == (5, 4), "T3's customer had called first"
    assert (care.survey_answers, care.survey_flagged) == (2, 1)
    assert care.survey_score_avg == pytest.approx(3.0)

    everywhere = await service_figures(db, ReportScope(DAY, DAY))
    assert everywhere.tickets == 5, "Busan's ticket counts without a region filter"

    async with ApiClient(db_dsn, role="agent") as agent:
        answer = await agent.get("/v1/reports/service", params={"first": "2026-11-10", "last": "2026-11-10",
                                                                "region": "seoul"})  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert answer.json()["service"]["tickets"] == 4
        assert answer.json()["care"]["self_fixed"] == 1
        bad = await agent.get("/v1/reports/service", params={"first": "2026-11-11", "last": "2026-11-10"})
        assert bad.status_code == 422
