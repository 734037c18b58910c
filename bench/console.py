"""The agent console's device page in a real browser: how long until its charts are drawn, with seven
days of one-minute telemetry behind them.

An agent opens a device while the customer waits. The goal: the device page with 7 days of 1-minute
readings draws its charts in under 1 s. This benchmark starts a private PostgreSQL (durable settings,
as in production), stores 7 days of one-minute readings for the device under test and for
`--neighbours` other boilers (so the readings table is not just this one device), serves the API with
uvicorn on loopback, and drives Debian's headless Chromium through Playwright:

- **7 d, from navigation**: open the device page with the week selected (`#7d`) and wait until all
  five charts are drawn; the time from the start of navigation (the page's HTML, styles, scripts,
  the series request and the drawing).
- **7 d, switch**: on the open page, press "7 days" and wait for the charts (series request + draw).
- **24 h, from navigation**: the same page with the default day view: the baseline, same run.
- **series endpoint**: the server's time for the week's JSON alone (httpx, same loopback).

Usage: python bench/console.py [--loads 20] [--neighbours 200] [--output FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import api_key, log, percentile, report, servers
from diagnostics.service_points import seed_service_points
from telemetry.device_registry import ContactRecord, DeviceRecord, register_devices
from testbed.console_browser import chromium, serving_api, sign_in

DEVICE = "console-bench-0"
DAYS = 7
GOAL_MS = 1000.0


async def _prepare(dsn: str, neighbours: int) -> None:
    """The device under test and its neighbours, each with 7 days of one-minute readings up to now,
    written by SQL in one statement per device (a reading per minute, a daily rhythm in the values)."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await seed_service_points(conn)
            records = [
                DeviceRecord(f"console-bench-{i}", "NCB-300", f"SN-{i}", date(2024, 10, 1), "서울특별시 종로구 세종대로 175",
                             "seoul", 37.5665, 126.978, "김영희", 60,
                             (ContactRecord(name="김영희", phone=f"+8210{20000000 + i:08d}", role="owner"),))
                for i in range(neighbours + 1)
            ]  # fmt: skip
            await register_devices(conn, devices=records)
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        for i in range(neighbours + 1):
            await conn.execute(
                """
                INSERT INTO readings (device_id, ts, seq, received_at, ch_flow_c, ch_return_c, room_c, room_setpoint_c,
                                      outdoor_c, ch_pressure_bar, modulation_pct, flue_c)
                SELECT $1, $2::timestamptz - make_interval(mins => m), $3::int - m, $2::timestamptz - make_interval(mins => m),
                       55 + 10 * sin(m / 229.0), 42 + 8 * sin(m / 229.0), 21 + sin(m / 229.0), 22,
                       -5 + 6 * sin(m / 229.0), 1.3 + 0.05 * cos(m / 97.0), 45 + 30 * sin(m / 229.0), 60 + 8 * sin(m / 229.0)
                FROM generate_series(0, $3::int) AS m
                """,
                f"console-bench-{i}", now, DAYS * 1440,
            )  # fmt: skip
            if i % 50 == 0:
                log(f"history: {i + 1}/{neighbours + 1} devices × {DAYS} days of one-minute readings")
        await conn.execute(
            "INSERT INTO device_state (device_id, last_seen, last_reading_at, last_seq)"
            " SELECT device_id, $1, $1, $2 FROM devices ON CONFLICT (device_id) DO UPDATE SET last_seen = $1,"
            " last_reading_at = $1, last_seq = $2", now, DAYS * 1440,
        )  # fmt: skip
        await conn.execute("ANALYZE readings")
    finally:
        await conn.close()


async def _measure(base: str, key: str, loads: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {
        "7d_navigation": [],
        "7d_switch": [],
        "24h_navigation": [],
        "series_7d": [],
    }
    page_url = f"{base}/console/devices/{DEVICE}"
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 1360, "height": 900}, locale="ko-KR")
        page = await context.new_page()
        await sign_in(page, base, key, f"/console/devices/{DEVICE}")
        charts = page.locator("#charts[data-drawn-at-ms]")
        for n in range(loads):
            await page.goto("about:blank")
            await page.goto(page_url + "#7d")
            await charts.wait_for(state="attached")
            points = int(await page.locator("#charts").get_attribute("data-points") or 0)
            assert points >= DAYS * 144 - 2, points  # the week, in ten-minute buckets, was drawn
            figures["7d_navigation"].append(
                float(await page.locator("#charts").get_attribute("data-drawn-at-ms") or 0)
            )

            await page.goto("about:blank")
            await page.goto(page_url)
            await charts.wait_for(state="attached")
            assert int(await page.locator("#charts").get_attribute("data-points") or 0) >= 1440 - 2
            figures["24h_navigation"].append(
                float(await page.locator("#charts").get_attribute("data-drawn-at-ms") or 0)
            )

            await page.locator("button[data-window='7d']").click()
            await page.locator("#charts[data-rendered-ms][data-points]").wait_for(state="attached")
            await page.wait_for_function("document.getElementById('charts').dataset.points > 1000")
            figures["7d_switch"].append(
                float(await page.locator("#charts").get_attribute("data-rendered-ms") or 0)
            )
            if (n + 1) % 5 == 0:
                log(f"page loads: {n + 1}/{loads}")
        cookies = {c["name"]: c["value"] for c in await context.cookies()}
        await context.close()
    async with httpx.AsyncClient(base_url=base, cookies=cookies) as http:
        for _ in range(loads):
            started = time.perf_counter()
            answer = await http.get(f"/console/devices/{DEVICE}/series", params={"window": "7d"})
            answer.raise_for_status()
            figures["series_7d"].append((time.perf_counter() - started) * 1000)
    return figures


def _table(figures: dict[str, list[float]], neighbours: int, loads: int) -> str:
    names = {
        "24h_navigation": "24 h, from navigation (baseline)",
        "7d_navigation": "7 d, from navigation",
        "7d_switch": "7 d, switch on the open page",
        "series_7d": "7 d series endpoint alone (server)",
    }
    lines = [
        f"Device page with {DAYS} days of one-minute readings ({DAYS * 1440 + 1:,} per device; {neighbours + 1} devices"
        f" stored), {loads} loads each, headless Chromium on this machine. Goal: charts drawn in < {GOAL_MS:.0f} ms.",
        "",
        "| measure | p50 ms | p95 ms | max ms | goal |",
        "|---|---|---|---|---|",
    ]
    for key, label in names.items():
        values = figures[key]
        goal = (
            ""
            if key in ("24h_navigation", "series_7d")
            else ("met" if percentile(values, 0.95) < GOAL_MS else "MISSED")
        )
        lines.append(
            f"| {label} | {percentile(values, 0.5):.0f} | {percentile(values, 0.95):.0f} | {max(values):.0f} | {goal} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--neighbours", type=int, default=200)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    with servers() as srv:
        log(f"storing {args.neighbours + 1} devices × {DAYS} days of one-minute readings")
        asyncio.run(_prepare(srv.dsn, args.neighbours))
        key = asyncio.run(api_key(srv.dsn, "agent"))
        with serving_api(srv.dsn) as base:
            figures = asyncio.run(_measure(base, key, args.loads))
    report(_table(figures, args.neighbours, args.loads), args.output)
    if percentile(figures["7d_navigation"], 0.95) >= GOAL_MS:
        sys.exit(1)


if __name__ == "__main__":
    main()
