"""The agent console in a real browser against the real stack: Mosquitto, the gateway, the
diagnostics worker, PostgreSQL and the API served by uvicorn, driven by Debian's Chromium.

One walk goes through every page the way an agent's call goes: sign in, find the caller's boiler by
phone number, read its active fault and charts, watch a new fault arrive live, work the ticket through
its lifecycle from the queue with the SLA clock ticking, switch to English, look at the fleet and the
campaign. Each page is checked with axe-core and saved as a screenshot under test-artifacts/console/.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest
from playwright.async_api import Page, expect

from diagnostics.campaigns.plan import CampaignConfig, plan_campaign
from diagnostics.campaigns.planner import RiskWeights
from protocol.broker import BrokerAddress
from telemetry.device_registry import ContactRecord, DeviceRecord, register_devices
from testbed.console_browser import ARTIFACTS, axe_violations, chromium, serving_api, sign_in
from testbed.support import (
    Publisher,
    eventually,
    gateway_config,
    issue_api_key,
    now_iso,
    reading,
    running_gateway,
    running_worker,
    seed_points,
    store,
)

pytestmark = pytest.mark.slow

PHONE = "+821023456789"
DEVICE = "boiler-console-1"
OTHER = "boiler-console-2"
HISTORY = timedelta(hours=30)
DRAWN = re.compile(r"^\d")
"""data-rendered-ms holds a number once every chart is drawn."""


async def _register(db: asyncpg.Connection, device_id: str, name: str, phone: str, address: str,
                    lat: float, lon: float, region: str) -> None:  # fmt: skip
    contacts = (ContactRecord(name=name, phone=phone, role="owner"),
                ContactRecord(name=f"{name} 가족", phone=phone[:-4] + "0000", role="family",
                              preferred_channel="kakao"))  # fmt: skip
    record = DeviceRecord(device_id, "NCB-300", f"SN-{device_id}", date(2025, 1, 10), address, region, lat, lon,
                          name, 60, contacts)  # fmt: skip
    async with db.transaction():
        await register_devices(db, devices=[record])


async def _history(db: asyncpg.Connection, device_id: str, span: timedelta) -> None:
    """One reading a minute up to now, with a daily rhythm, so the charts have something to draw."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    rows = []
    minutes = int(span.total_seconds() // 60)
    for i in range(minutes, -1, -1):
        ts = now - timedelta(minutes=i)
        phase = (i % 1440) / 1440
        rows.append(reading(device_id, ts, minutes - i, ch_flow_c=55 + 10 * phase, ch_return_c=42 + 8 * phase,
                            room_c=21.5 - phase, room_setpoint_c=22.0, outdoor_c=-8 + 4 * phase,
                            ch_pressure_bar=1.4, modulation_pct=40 + 30 * phase, flue_c=60 + 5 * phase))  # fmt: skip
    for start in range(0, len(rows), 2000):
        await store(db, *rows[start : start + 2000])


@dataclass
class Stack:
    base: str
    db: asyncpg.Connection
    publisher: Publisher
    agent_key: str


@pytest.fixture
async def stack(db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress) -> AsyncIterator[Stack]:
    await seed_points(db)
    await _register(db, DEVICE, "김영희", PHONE, "서울특별시 종로구 세종대로 175", 37.5665, 126.9780, "seoul")
    await _register(
        db, OTHER, "박철수", "+821098765432", "부산광역시 해운대구 우동 1", 35.1631, 129.1635, "busan"
    )
    await _history(db, DEVICE, HISTORY)
    await _history(db, OTHER, timedelta(minutes=5))
    async with db.transaction():
        # every boiler is inspected this season: the page must show the plan, not the ranking
        await plan_campaign(
            db, 2027, today=date(2027, 8, 11), config=CampaignConfig(weights=RiskWeights(min_score=0.0))
        )
    agent_key = await issue_api_key(db_dsn, "agent")
    publisher = Publisher(broker, client_id="console-test")
    try:
        async with running_gateway(gateway_config(db_dsn, broker)), running_worker(db_dsn):
            with serving_api(db_dsn) as base:
                yield Stack(base, db, publisher, agent_key)
    finally:
        publisher.close()


def _raise(stack: Stack, device_id: str, code: str, seq: int) -> None:
    event = json.dumps({"seq": seq, "ts": now_iso(), "code": code, "state": "raised"})
    stack.publisher.publish(f"ondol/v1/{device_id}/events", event)


async def _page_checked(page: Page, name: str) -> None:
    """Every page: a screenshot for the record, and no serious accessibility violation."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert await axe_violations(page) == [], name


async def test_an_agent_works_a_call_through_every_page(stack: Stack) -> None:
    db = stack.db
    _raise(stack, DEVICE, "E205", 1)  # a flow-sensor fault: the engine opens a ticket at once
    _raise(stack, OTHER, "E205", 1)
    ticket_id = await eventually(
        lambda: db.fetchval("SELECT ticket_id FROM tickets WHERE device_id = $1", DEVICE), what="ticket"
    )
    other_ticket = await eventually(
        lambda: db.fetchval("SELECT ticket_id FROM tickets WHERE device_id = $1", OTHER), what="other ticket"
    )
    # The other ticket's contact hour ran out while nobody called: an SLA breach for the queue.
    await db.execute("UPDATE tickets SET contact_due_at = now() - interval '5 minutes' WHERE ticket_id = $1",
                     other_ticket)  # fmt: skip

    async with chromium() as browser:
        context = await browser.new_context(locale="ko-KR", timezone_id="Asia/Seoul",
                                            viewport={"width": 1360, "height": 900})  # fmt: skip
        page = await context.new_page()

        # Sign in: a page asked for before signing in comes back after it.
        await sign_in(page, stack.base, stack.agent_key, "/console/find")
        assert page.url.endswith("/console/find")
        await expect(page.locator("html")).to_have_attribute("lang", "ko")

        # Find the caller by phone number, typed the way they say it: results without pressing Enter.
        await page.get_by_label("전화번호, 이름, 주소 또는 기기 ID").press_sequentially(
            "010-2345-6789", delay=20
        )
        row = page.locator("#results tbody tr")
        await expect(row).to_have_count(1)
        await expect(row).to_contain_text("김영희")
        await expect(row).to_contain_text("E205")
        await _page_checked(page, "1-find")

        # The device page: the fault in words to read out, with its steps, and the charts drawn.
        await row.get_by_role("link", name=DEVICE).click()
        await expect(page.locator("#faults")).to_contain_text("E205")
        await expect(page.locator("#faults")).to_contain_text("난방 공급 온도 센서 이상")
        await expect(page.locator("#faults .no-steps")).to_contain_text("기사 방문")
        await expect(page.locator("#device-status")).to_have_text("고장")
        charts = page.locator("#charts")
        await expect(charts).to_have_attribute("data-rendered-ms", DRAWN)
        # A day of one-minute buckets: 1,440, or 1,439 when a minute turned between storing the newest
        # reading and asking for the day (the window ends at the request, the readings where they were).
        assert 24 * 60 - 1 <= int(await charts.get_attribute("data-points") or 0) <= 24 * 60 + 1
        await expect(page.locator("#charts canvas")).to_have_count(5)
        await expect(page.locator("#warranty")).to_contain_text("보증 기간 내")
        await expect(page.locator("#next-inspection")).not_to_contain_text("예정된 점검 없음")
        # The week view fetches ten-minute buckets.
        await page.get_by_role("button", name="7일").click()
        await expect(page.get_by_role("button", name="7일")).to_have_attribute("aria-pressed", "true")
        await expect(charts).to_have_attribute("data-rendered-ms", DRAWN)
        assert 30 * 6 - 2 <= int(await charts.get_attribute("data-points") or 0) <= 30 * 6 + 2
        await _page_checked(page, "2-device")

        # A second fault arrives while the agent is looking: it appears without a reload.
        url_before = page.url
        _raise(stack, DEVICE, "E002", 2)
        await expect(page.locator("#faults")).to_contain_text("E002", timeout=15_000)
        await expect(page.locator("#faults ol.steps li").first).to_be_visible()  # E002's steps, read out
        assert page.url == url_before
        await expect(page.locator("#timeline")).to_contain_text("E205")

        # The queue: the breached ticket is marked, the open one's contact clock counts down.
        await page.get_by_role("link", name="접수 대기열").click()
        own_row, late_row = page.locator(f"#ticket-{ticket_id}"), page.locator(f"#ticket-{other_ticket}")
        await expect(late_row).to_have_class(re.compile(r"\bbreached\b"))
        await expect(late_row.locator(".clock")).to_contain_text("초과")
        clock = own_row.locator(".clock")
        first = await clock.text_content()
        await expect(clock).not_to_have_text(first or "", timeout=3000)
        assert "남음" in (await clock.text_content() or "")
        await expect(page.locator("#queue-summary")).to_contain_text("연락 기한 넘김 1건")
        await _page_checked(page, "3-queue")

        # Work the ticket through its whole lifecycle from its page, with a note.
        await own_row.get_by_role("link", name=str(ticket_id)).click()
        await page.get_by_label("메모", exact=True).fill("고객이 오전 방문을 원함")
        await page.get_by_role("button", name="메모 남기기").click()
        await expect(page.locator("#notes")).to_contain_text("고객이 오전 방문을 원함")
        for move, shown in (("고객 연락함", "고객 연락함"), ("방문 예약", "방문 예약"), ("기사 출동", "기사 출동"),
                            ("수리 완료", "수리 완료"), ("종결", "종결")):  # fmt: skip
            await page.locator("#work form.move").get_by_role("button", name=move, exact=True).click()
            await expect(page.locator("#ticket-status")).to_have_text(shown)
        await expect(page.locator("#work")).to_contain_text("완료된 접수입니다")
        await _page_checked(page, "4-ticket")
        moves = await db.fetch("SELECT from_status, to_status, actor FROM ticket_transitions WHERE ticket_id = $1"
                               " AND actor LIKE 'agent:%' ORDER BY transition_id", ticket_id)  # fmt: skip
        assert [(m["from_status"], m["to_status"]) for m in moves] == [
            ("open", "contacted"), ("contacted", "scheduled"), ("scheduled", "dispatched"),
            ("dispatched", "resolved"), ("resolved", "closed"),
        ]  # fmt: skip
        assert (
            await db.fetchval("SELECT count(*) FROM outbox_events WHERE subject = $1", f"ticket/{ticket_id}")
            >= 5
        )

        # English, remembered from page to page.
        await page.get_by_role("link", name="English").click()
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(page.locator("#work")).to_contain_text("This ticket is finished.")
        await page.get_by_role("link", name="Fleet").click()
        await expect(page.locator("h1")).to_have_text("Fleet")
        await expect(page.locator("#fleet-totals")).to_contain_text("2")
        await expect(page.locator("#worst")).to_contain_text("Busan")
        await _page_checked(page, "5-fleet")

        await page.get_by_role("link", name="Campaign").click()
        await expect(page.locator("h1")).to_have_text("Inspection campaign")
        await expect(page.locator("#plan-points tbody tr").first).to_be_visible()
        await expect(page.locator("#plan-days")).to_contain_text("Booked")
        await _page_checked(page, "6-campaign")

        # Signing out ends the session: the pages send the browser back to the sign-in form.
        await page.get_by_role("button", name="Sign out").click()
        await page.goto(stack.base + "/console/queue")
        assert "/console/sign-in" in page.url
        await context.close()
    await asyncio.sleep(0)
