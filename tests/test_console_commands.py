"""The device page's remote-care panel in a real browser (Debian's Chromium through Playwright,
against the API served by uvicorn): an agent changes the room setpoint and sends a reset, and a
reset on a boiler with a safety-critical fault is refused with the rule, before and after asking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from playwright.async_api import expect

from testbed.console_browser import chromium, serving_api, sign_in
from testbed.support import issue_api_key, register

pytestmark = pytest.mark.slow


async def _fault(db: asyncpg.Connection, device_id: str, code: str) -> None:
    at = datetime.now(UTC) - timedelta(minutes=20)
    await db.execute("INSERT INTO device_faults (device_id, code, active, raised_at, changed_at, seq)"
                     " VALUES ($1, $2, true, $3, $3, 1)", device_id, code, at)  # fmt: skip
    await db.execute("INSERT INTO fault_cases (device_id, family, code, status, first_raised_at, last_raised_at, rule)"
                     " VALUES ($1, 'ignition_flame', $2, 'ticketed', $3, $3, 'test')", device_id, code, at)  # fmt: skip


async def _consent(db: asyncpg.Connection, device_id: str) -> None:
    await db.execute("INSERT INTO remote_consents (device_id, scope, granted_by, granted_via)"
                     " VALUES ($1, ARRAY['all'], 'customer:test', 'customer')", device_id)  # fmt: skip


async def test_an_agent_changes_the_setpoint_and_resets_from_the_device_page_and_sees_a_safety_refusal(
    db: asyncpg.Connection, db_dsn: str
) -> None:
    await register(db, "panel-ok", "panel-safety")
    for device in ("panel-ok", "panel-safety"):
        await _consent(db, device)
    await _fault(db, "panel-ok", "E003")
    await _fault(db, "panel-safety", "E110")
    key = await issue_api_key(db_dsn, "agent")
    with serving_api(db_dsn) as base:
        async with chromium() as browser:
            context = await browser.new_context(locale="en-GB", timezone_id="Asia/Seoul")
            page = await context.new_page()
            await sign_in(page, base, key, "/console/devices/panel-ok?lang=en")
            panel = page.locator("#commands")
            await expect(panel.get_by_role("heading", name="Remote care")).to_be_visible()

            await panel.locator("#room-c").fill("22.5")
            await (
                panel.locator("#command-setpoint")
                .get_by_role("button", name="Change heating setpoint")
                .click()
            )
            await expect(page.locator("#command-message")).to_have_text(
                "Change heating setpoint sent. Its state changes as the boiler answers.")  # fmt: skip
            await expect(page.locator("#desired-state")).to_contain_text("22.5")
            await expect(page.locator("#desired-state")).to_contain_text("(v1)")
            first = page.locator("#command-history tbody tr").first
            await expect(first).to_contain_text("Change heating setpoint")
            await expect(first).to_contain_text("queued")

            reset = page.locator("#command-reset")
            await reset.get_by_role("button", name="Remote reset").click()
            await expect(page.locator("#command-message")).to_contain_text("Ask about a gas smell first")
            await (
                page.locator("#command-reset")
                .get_by_label("The customer confirmed there is no gas smell")
                .check()
            )
            await page.locator("#command-reset").get_by_role("button", name="Remote reset").click()
            await expect(page.locator("#command-message")).to_have_text(
                "Remote reset sent. Its state changes as the boiler answers.")  # fmt: skip
            await expect(page.locator("#command-history tbody tr").first).to_contain_text("Remote reset")

            await page.goto(f"{base}/console/devices/panel-safety?lang=en")
            why = page.locator("#command-reset .why")
            await expect(why).to_contain_text("Safety-critical fault: never reset remotely")
            await (
                page.locator("#command-reset")
                .get_by_label("The customer confirmed there is no gas smell")
                .check()
            )
            await page.locator("#command-reset").get_by_role("button", name="Remote reset").click()
            alert = page.get_by_role("alert")
            await expect(alert).to_contain_text("Not sent — Safety-critical fault: never reset remotely")
            await expect(alert).to_contain_text("E110")
            await context.close()
    kinds = await db.fetch(
        "SELECT device_id, kind, state, result->>'rule' AS rule FROM commands ORDER BY created_at"
    )
    assert [(k["device_id"], k["kind"], k["state"], k["rule"]) for k in kinds] == [
        ("panel-ok", "set_ch_setpoint", "queued", None),
        ("panel-ok", "lockout_reset", "rejected", "gas_smell_not_ruled_out"),
        ("panel-ok", "lockout_reset", "queued", None),
        ("panel-safety", "lockout_reset", "rejected", "safety_critical_code_active"),
    ]
