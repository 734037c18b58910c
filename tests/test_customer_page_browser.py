"""The customer's page in a real browser on a small phone (360 × 740, Debian's Chromium): from the link
in the SMS through the self-fix steps and "still not working" to a booked visit, and after the repair
to the happy call, in Korean (the mother) and in English (a customer who reads English). Every screen
is checked with axe-core, must fit the phone's width, and is saved under test-artifacts/customer/.

The page needs no JavaScript: the browser runs with JavaScript off, as on the simplest phones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from playwright.async_api import Browser, Page

from diagnostics.customer_link import store as link_store
from diagnostics.customer_link.store import RepairItem
from diagnostics.tickets.lifecycle import Status, transition
from testbed.console_browser import ARTIFACTS, axe_violations, chromium, serving_api
from testbed.customer_scene import MOTHER, Scene, scene_on

pytestmark = pytest.mark.slow

SHOTS = ARTIFACTS.parent / "customer"
PHONE = {"width": 360, "height": 740}


@pytest.fixture
async def served(db: asyncpg.Connection, db_dsn: str) -> AsyncIterator[tuple[Scene, Browser]]:
    with serving_api(db_dsn) as base:
        async with scene_on(db, db_dsn, base) as scene, chromium() as browser:
            yield scene, browser


async def _checked(page: Page, name: str) -> None:
    """Each screen: a screenshot, no serious accessibility violation, nothing wider than the phone.

    The walk runs with JavaScript off; axe-core needs it, so the same screen is opened again in a
    second phone with JavaScript on (and the page's script policy lifted for axe alone)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    browser = page.context.browser
    assert browser is not None
    checker = await browser.new_context(viewport=PHONE, bypass_csp=True)
    try:
        twin = await checker.new_page()
        await twin.goto(page.url)
        assert await axe_violations(twin) == [], name
        overflow = await twin.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name}: {overflow}px wider than a 360px phone"
    finally:
        await checker.close()


async def _repair_done(scene: Scene, device_id: str) -> None:
    ticket_id = int(await scene.db.fetchval("SELECT ticket_id FROM tickets WHERE device_id = $1", device_id))
    async with scene.db.transaction():
        for status in (Status.DISPATCHED, Status.RESOLVED):
            if status is Status.RESOLVED:
                await scene.event(device_id, "E003", "cleared")
                await link_store.upsert_repair_report(
                    scene.db, ticket_id=ticket_id, summary="점화 전극을 교체했습니다 (ignition electrode replaced)",
                    items=[RepairItem("점화 전극 / ignition electrode", 18000)], labour_won=25000,
                    warranty_covered=False, total_won=43000, entered_by="tech-1",
                )  # fmt: skip
            await transition(scene.db, ticket_id=ticket_id, to=status, actor="tech-1", note=None)


@pytest.mark.parametrize("lang", ["ko", "en"])
async def test_from_the_sms_link_to_a_booked_visit_and_the_happy_call(
    served: tuple[Scene, Browser], lang: str
) -> None:
    scene, browser = served
    device = f"web-{lang}"
    await scene.device(device, son=False, mother_language="ko" if lang == "ko" else "en")
    await scene.event(device, "E003", "raised")
    await scene.deliver()
    sms = scene.sink.to(MOTHER)[-1]
    link = scene.links_to(MOTHER)[-1]
    assert sms["type"] == "LMS"
    await scene.db.execute(
        "INSERT INTO technicians (technician_id, point_id, name, name_en, photo_url)"
        " SELECT 'tech-' || point_id, point_id, '김민준', 'Kim Minjun', NULL FROM service_points"
    )
    words = {
        "ko": {"next": "다음 단계", "broken": "여전히 안 돼요", "book": "이 시간으로 예약", "booked": "방문 예약이 되었습니다",
               "send": "평가 보내기", "thanks": "평가해 주셔서 감사합니다", "five": "5", "yes": "예"},
        "en": {"next": "Next step", "broken": "Still not working", "book": "Book this time", "booked": "Your visit is booked",
               "send": "Send", "thanks": "Thank you for your answer", "five": "5", "yes": "Yes"},
    }[lang]  # fmt: skip
    context = await browser.new_context(viewport=PHONE, java_script_enabled=False, locale=lang)
    page = await context.new_page()
    try:
        await page.goto(link)
        await _checked(page, f"{lang}-1-self-fix")
        await page.get_by_role("link", name=words["next"]).click()
        await _checked(page, f"{lang}-2-step-2")
        await page.get_by_role("button", name=words["broken"]).click()
        await _checked(page, f"{lang}-3-book")
        await page.get_by_role("radio").first.check()
        await page.get_by_role("button", name=words["book"]).click()
        await page.get_by_text(words["booked"]).wait_for()
        assert await page.get_by_text("김민준" if lang == "ko" else "Kim Minjun").count() == 1
        await _checked(page, f"{lang}-4-booked")
        status = await scene.db.fetchval("SELECT status FROM tickets WHERE device_id = $1", device)
        assert status == "scheduled"

        await _repair_done(scene, device)
        await scene.deliver()
        result_link = scene.links_to(MOTHER)[-1]
        assert result_link == link, "one case, one contact: the result comes on the same link"
        await page.goto(result_link)
        assert await page.get_by_text("43,000").count() == 1
        await _checked(page, f"{lang}-5-result-and-survey")
        await page.get_by_role("radio", name=words["five"], exact=True).check()
        await page.get_by_role("radio", name=words["yes"], exact=True).check()
        await page.get_by_role("button", name=words["send"]).click()
        await page.get_by_text(words["thanks"]).first.wait_for()
        await _checked(page, f"{lang}-6-thanks")
    finally:
        await context.close()
    survey = await scene.db.fetchrow("SELECT score, solved, flagged FROM customer_surveys")
    assert (survey["score"], survey["solved"], survey["flagged"]) == (5, True, False)


async def test_a_link_that_opens_nothing_shows_the_same_page_on_a_phone(
    served: tuple[Scene, Browser],
) -> None:
    scene, browser = served
    context = await browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = await context.new_page()
    try:
        answer = await page.goto(scene.base_url + "/c/AAAAAAAAAAAAAAAAAAAAAA")
        assert answer is not None
        assert answer.status == 404
        await _checked(page, "invalid-link")
    finally:
        await context.close()
