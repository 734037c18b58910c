"""Live updates in a real browser: a change refreshes every panel it touches, without a reload.

A fault raised over MQTT (through the gateway and the diagnostics worker) must appear on an open
device page in its status panel and also in the 30-day error timeline, the tickets and the alerts
sent; marking the customer contacted must stop the ticket page's contact clock at once. Debian's
Chromium through Playwright, against the API served by uvicorn.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest
from playwright.async_api import expect

from protocol.broker import BrokerAddress
from telemetry.device_registry import ContactRecord, DeviceRecord, register_devices
from testbed.console_browser import chromium, serving_api, sign_in
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

DEVICE = "boiler-live-1"


@dataclass
class Stack:
    base: str
    db: asyncpg.Connection
    publisher: Publisher
    agent_key: str


@pytest.fixture
async def stack(db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress) -> AsyncIterator[Stack]:
    await seed_points(db)
    contacts = (ContactRecord(name="김영희", phone="+821023456789", role="owner"),
                ContactRecord(name="김철수", phone="+821023450000", role="family", preferred_channel="kakao"))  # fmt: skip
    record = DeviceRecord(DEVICE, "NCB-300", "SN-1", date(2025, 1, 10), "서울특별시 종로구 세종대로 175", "seoul",
                          37.5665, 126.978, "김영희", 60, contacts)  # fmt: skip
    async with db.transaction():
        await register_devices(db, devices=[record])
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    await store(db, *(reading(DEVICE, now - timedelta(minutes=i), 100 - i, flue_c=60.0, room_c=21.0)
                      for i in range(30)))  # fmt: skip
    publisher = Publisher(broker, client_id="live-test")
    try:
        async with running_gateway(gateway_config(db_dsn, broker)), running_worker(db_dsn):
            with serving_api(db_dsn) as base:
                yield Stack(base, db, publisher, await issue_api_key(db_dsn, "agent"))
    finally:
        publisher.close()


async def test_a_new_fault_refreshes_every_panel_it_touches(stack: Stack) -> None:
    async with chromium() as browser:
        context = await browser.new_context(locale="ko-KR", timezone_id="Asia/Seoul")
        page = await context.new_page()
        await sign_in(page, stack.base, stack.agent_key, f"/console/devices/{DEVICE}")
        timeline, tickets, alerts = (page.locator(f"section[aria-labelledby={h}]")
                                     for h in ("timeline-h", "tickets-h", "alerts-h"))  # fmt: skip
        await expect(timeline).to_contain_text("최근 30일간 에러가 없습니다")
        await expect(tickets).to_contain_text("접수 내역이 없습니다")
        await expect(alerts).to_contain_text("보낸 알림이 없습니다")
        # The charts speak the page's language and say their time zone.
        await expect(page.locator("#charts")).to_have_attribute("data-rendered-ms", re.compile(r"^\d"))
        legend = page.locator("#charts .u-legend").first
        await expect(legend).to_contain_text("시각 (KST)")
        await expect(legend).not_to_contain_text("Time")
        await page.evaluate("window.__notReloaded = true")

        # E030 (flue gas too hot) is safety-critical: a ticket and a safety alert to every contact.
        event = {"seq": 1, "ts": now_iso(), "code": "E030", "state": "raised"}
        stack.publisher.publish(f"ondol/v1/{DEVICE}/events", json.dumps(event))
        await eventually(lambda: stack.db.fetchval("SELECT count(*) = 2 FROM customer_alerts"), what="alerts")
        await expect(page.locator("#faults")).to_contain_text("E030", timeout=15_000)
        await expect(timeline).to_contain_text("E030")
        await expect(timeline).not_to_contain_text("에러가 없습니다")
        await expect(tickets).to_contain_text("E030 배기가스 과열")
        await expect(alerts.locator("tbody tr")).to_have_count(2)
        await expect(alerts).to_contain_text("안전 경고")
        assert await page.evaluate("window.__notReloaded === true")
        await context.close()


async def test_marking_the_customer_contacted_stops_the_contact_clock_at_once(stack: Stack) -> None:
    stack.publisher.publish(f"ondol/v1/{DEVICE}/events",
                            json.dumps({"seq": 1, "ts": now_iso(), "code": "E205", "state": "raised"}))  # fmt: skip
    ticket_id = await eventually(
        lambda: stack.db.fetchval("SELECT ticket_id FROM tickets WHERE device_id = $1", DEVICE), what="ticket"
    )
    async with chromium() as browser:
        context = await browser.new_context(locale="ko-KR", timezone_id="Asia/Seoul")
        page = await context.new_page()
        await sign_in(page, stack.base, stack.agent_key, f"/console/tickets/{ticket_id}")
        clock = page.locator("section[aria-labelledby=ticket-facts-h] .clock")
        first = await clock.text_content()
        await expect(clock).not_to_have_text(first or "", timeout=3000)  # it counts down every second
        await expect(clock).to_contain_text("남음")
        await page.evaluate("window.__notReloaded = true")

        await page.locator("#work form.move").get_by_role("button", name="고객 연락함", exact=True).click()
        await expect(page.locator("#ticket-status")).to_have_text("고객 연락함")
        # At once, not at the next reload: the clock says when the customer was contacted and stops.
        await expect(clock).to_contain_text("연락함", timeout=1000)
        await expect(clock).not_to_have_attribute("data-due", re.compile(".*"))
        stopped = await clock.text_content()
        await page.wait_for_timeout(1500)
        assert await clock.text_content() == stopped
        assert re.search(r"\d{2}:\d{2} KST", stopped or "")
        assert await page.evaluate("window.__notReloaded === true")
        await context.close()
