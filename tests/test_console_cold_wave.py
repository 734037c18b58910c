"""The console's cold-wave view and an area incident's page in Debian's Chromium: a forecast cold day
and a gas-supply cut appear, an agent opens the incident, takes it and resolves it; every page is
checked with axe-core and saved under test-artifacts/console/, in Korean and in English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from diagnostics.cold_wave.forecasts import AdvisoryConfig, refresh_advisories, store_forecast
from diagnostics.cold_wave.incidents import IncidentConfig
from diagnostics.cold_wave.kma import ForecastPoint
from diagnostics.cold_wave.prepare import prepare_due_advisories
from diagnostics.faults.engine import EngineConfig
from telemetry.korean_time import KST, kst_day
from testbed.console_browser import ARTIFACTS, axe_violations, chromium, serving_api, sign_in
from testbed.customer_scene import scene_on
from testbed.support import issue_api_key

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("lang", ["ko", "en"])
async def test_an_agent_sees_the_cold_wave_and_resolves_the_incident(
    db: asyncpg.Connection, db_dsn: str, lang: str
) -> None:
    config = EngineConfig(incidents=IncidentConfig(min_devices=4))
    async with scene_on(db, db_dsn, "https://ondol.example", config) as scene:
        for i in range(6):
            await scene.device(f"cw-{i}", son=False)
        now = datetime.now(UTC)
        tomorrow = kst_day(now) + timedelta(days=1)
        morning = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 6, tzinfo=KST)
        async with db.transaction():
            await store_forecast(db, [ForecastPoint("seoul", now, morning, "TMN", -16.0)], "file")
            await refresh_advisories(db, AdvisoryConfig(), kst_day(now))
        await prepare_due_advisories(db, AdvisoryConfig(), now)
        for i in range(5):
            await scene.event(
                f"cw-{i}", "E009", "raised", now - timedelta(minutes=3) + timedelta(seconds=20 * i)
            )
        await scene.event("cw-0", "E009", "cleared", now)
        incident_id = await db.fetchval("SELECT incident_id FROM area_incidents")
        assert incident_id is not None
    key = await issue_api_key(db_dsn, "agent")
    words = {"ko": ("한파 대응", "내가 담당하기", "해결 처리", "해결됨", "해결 내용 (예: 도시가스 공급 재개)"),
             "en": ("Cold wave", "Take it", "Resolve", "resolved", "What fixed it (e.g. gas supply restored)")}[lang]  # fmt: skip
    with serving_api(db_dsn) as base:
        async with chromium() as browser:
            context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale=lang)
            page = await context.new_page()
            await sign_in(page, base, key, "/console/cold-wave")
            if lang == "en":
                await page.get_by_role("link", name="English").click()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.get_by_role("heading", name=words[0], exact=True).wait_for()
            text = await page.inner_text("main")
            assert "-16" in text
            assert f"#{incident_id}" in text
            assert await axe_violations(page) == []
            await page.screenshot(path=str(ARTIFACTS / f"cold-wave-{lang}.png"), full_page=True)
            await page.get_by_role("link", name=f"#{incident_id}").click()
            await page.get_by_role("button", name=words[1]).click()
            await page.get_by_role("button", name=words[2]).wait_for()
            assert await axe_violations(page) == []
            await page.screenshot(path=str(ARTIFACTS / f"incident-{lang}.png"), full_page=True)
            await page.get_by_label(words[4]).fill("gas back")
            await page.get_by_role("button", name=words[2]).click()
            await page.get_by_text(words[3], exact=True).wait_for()
            await page.screenshot(path=str(ARTIFACTS / f"incident-resolved-{lang}.png"), full_page=True)
            await context.close()
    row = await db.fetchrow(
        "SELECT status, owner, ticketed FROM area_incidents WHERE incident_id = $1", incident_id
    )
    assert (row["status"], row["ticketed"]) == ("resolved", 4), (
        "four boilers still failing got their own ticket"
    )
    assert row["owner"] is not None
