"""The console's ticket queue: the order tickets must be worked in and why each row is where it is, the
fault's name beside its code, and filters as a browser sends them (a checked box says "on", "true"…).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, timedelta

import asyncpg
import httpx
import pytest

from testbed.support import (
    console_client,
    console_sign_in,
    insert_ticket,
    issue_api_key,
    register_full,
    seed_points,
    visible_text,
)

MIN = timedelta(minutes=1)


@pytest.fixture
async def console(db: asyncpg.Connection, db_dsn: str) -> AsyncIterator[httpx.AsyncClient]:
    await seed_points(db)
    async with console_client(db_dsn) as http:
        await console_sign_in(http, await issue_api_key(db_dsn, "agent"))
        yield http


async def _ticket(db: asyncpg.Connection, name: str, **ticket: object) -> int:
    await register_full(
        db, name, latitude=37.5665, longitude=126.978, region="seoul", installed_on=date(2024, 1, 1)
    )
    return await insert_ticket(db, name, "SP-023", **ticket)  # type: ignore[arg-type]


def _rows(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="ticket-(\d+)"', html)]


def _row(html: str, ticket_id: int) -> str:
    found = re.search(rf'<tr id="ticket-{ticket_id}".*?</tr>', html, re.S)
    assert found is not None, ticket_id
    return visible_text(found[0])


async def test_the_queue_puts_safety_first_then_the_longest_breach_and_says_why(
    console: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    # What the engine makes: a gas leak is an emergency (priority 1); a safety fault is urgent (2) and
    # escalation moves any ticket one step up, so an escalated flue fault is priority 1 like the leak.
    leak = await _ticket(
        db, "d-leak", code="E014", family="gas", kind="emergency", priority=1, due_in=50 * MIN
    )
    flue = await _ticket(db, "d-flue", code="E030", family="flue", kind="urgent", priority=1, due_in=-10 * MIN,
                         escalations=1)  # fmt: skip
    sensor = await _ticket(db, "d-sensor", code="E060", family="flue_sensor", kind="urgent", priority=2,
                           due_in=-5 * MIN)  # fmt: skip
    flame = await _ticket(
        db, "d-flame", code="E004", family="flame", kind="urgent", priority=2, due_in=30 * MIN
    )
    pump = await _ticket(db, "d-pump", code="E205", family="flow_sensor", kind="repair", priority=2,
                         due_in=-20 * MIN, escalations=1)  # fmt: skip
    late = await _ticket(db, "d-late", code="E003", kind="repair", priority=3, due_in=-40 * MIN)
    soon = await _ticket(db, "d-soon", code="E023", family="pump", kind="repair", priority=3, due_in=5 * MIN)
    planned = await _ticket(db, "d-plan", code="E062", family="outdoor_sensor", kind="planned", priority=4,
                            due_in=2 * MIN)  # fmt: skip

    page = await console.get("/console/queue")
    assert page.status_code == 200
    # The emergency first; then the other safety faults, the longest past its contact deadline first and
    # then the nearest deadline; then the rest by priority, each again breaches first.
    assert _rows(page.text) == [leak, flue, sensor, flame, pump, late, soon, planned]
    # The row says which class put it there: a gas leak and an escalated flue fault no longer read alike.
    assert "긴급(대피)" in _row(page.text, leak)
    assert "안전" in _row(page.text, flue)
    assert "상향됨" in _row(page.text, flue)
    assert "긴급(대피)" not in _row(page.text, flue)
    assert "안전" in _row(page.text, flame)
    assert "상향됨" not in _row(page.text, flame)
    assert "상향됨" in _row(page.text, pump)
    assert "안전" not in _row(page.text, pump)
    # The fault's name from the catalog beside its code, in the page's language.
    assert "E004 불꽃 오감지" in _row(page.text, flame)
    assert "E014 가스 누출·일산화탄소 경보" in _row(page.text, leak)
    assert "안전 관련 고장" in visible_text(page.text)  # the order is explained above the table
    console.cookies.set("ondol_console_lang", "en", path="/console")
    english = await console.get("/console/queue")
    assert "E004 False flame signal" in _row(english.text, flame)
    assert "Safety" in _row(english.text, flue)
    assert "Escalated" in _row(english.text, flue)
    assert "Emergency" in _row(english.text, leak)
    # The refresh fragment keeps the same order.
    fragment = await console.get("/console/queue", params={"fragment": "true"})
    assert _rows(fragment.text) == [leak, flue, sensor, flame, pump, late, soon, planned]
    # The ticket page names the class too, not a bare "긴급" for both.
    console.cookies.set("ondol_console_lang", "ko", path="/console")
    ticket = visible_text((await console.get(f"/console/tickets/{flue}")).text)
    assert "안전" in ticket
    assert "상향됨" in ticket
    assert "배기가스 과열" in ticket


@pytest.mark.parametrize("checked", ["true", "on", "yes", "1"])
async def test_the_breaches_only_box_takes_what_a_browser_sends(
    console: httpx.AsyncClient, db: asyncpg.Connection, checked: str
) -> None:
    late = await _ticket(db, "d-late", due_in=-40 * MIN)
    fine = await _ticket(db, "d-fine", code="E023", family="pump", due_in=40 * MIN)
    page = await console.get("/console/queue", params={"breached": checked})
    assert page.status_code == 200, visible_text(page.text)
    assert _rows(page.text) == [late]
    assert 'name="breached" value="true" checked' in page.text
    unchecked = await console.get("/console/queue", params={"breached": "", "status": "", "region": ""})
    assert unchecked.status_code == 200
    assert _rows(unchecked.text) == [late, fine]


async def test_a_422_page_lists_what_was_wrong_in_the_pages_language(console: httpx.AsyncClient) -> None:
    page = await console.get("/console/queue", params={"breached": "maybe", "status": "lost"})
    assert page.status_code == 422
    text = visible_text(page.text)
    assert "see errors" not in text
    assert "breached" in text
    assert "참 또는 거짓" in text
    assert "status" in text
    assert "허용되는 값" in text
    campaign = await console.get("/console/campaign", params={"season": "1999"})
    assert campaign.status_code == 422
    assert "season" in visible_text(campaign.text)
    assert "2000 이상" in visible_text(campaign.text)
    console.cookies.set("ondol_console_lang", "en", path="/console")
    english = visible_text((await console.get("/console/queue", params={"breached": "maybe"})).text)
    assert "breached" in english
    assert "true or false" in english
    assert not re.search(r"[가-힣]", english.replace("한국어", ""))
