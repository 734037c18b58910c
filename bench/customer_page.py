"""The customer's page on a slow phone connection: page weight and time until the first screen is
usable, on Chrome's "Fast 3G" emulation, in headless Chromium at 360 × 740.

A customer opens the link in an SMS, often an elderly parent on a weak signal. The goal: the first
screen usable in under 1 s on Fast 3G (562.5 ms latency per request, 1.44 Mbit/s down, 675 kbit/s up:
the DevTools preset, as Lighthouse defines it). The page is one HTML document with its styles inline
and no script, so "usable" is when the document is parsed and painted (DOMContentLoaded and the first
contentful paint; the later of the two is reported).

Every load is a fresh browser context (no cache, no connection kept). Same run, same machine:
- **unthrottled**: the same page on loopback with no emulation (the server's and browser's own time);
- **floor**: what Fast 3G alone costs a document of this size (latency + bytes / throughput), the
  least any page of that weight could do.

Pages: the self-fix screen (a guided E003, the first screen most customers see) and the booking
screen (a ticket with seven days of visit windows, the heaviest page).

Usage: python bench/customer_page.py [--loads 20] [--output FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any, Final

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import log, percentile, report, servers
from testbed.console_browser import chromium, serving_api
from testbed.customer_scene import MOTHER, scene_on

GOAL_MS: Final = 1000.0
FAST_3G: Final = {
    "offline": False,
    "latency": 562.5,
    "downloadThroughput": 1.6 * 1024 * 1024 / 8 * 0.9,
    "uploadThroughput": 750 * 1024 / 8 * 0.9,
}
_TIMING: Final = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  return {dcl: nav.domContentLoadedEventEnd, fcp: paint ? paint.startTime : null,
          bytes: nav.transferSize, body: nav.encodedBodySize, requests: performance.getEntriesByType('resource').length};
}"""


async def _links(dsn: str, base: str) -> dict[str, str]:
    """A guided case (self-fix screen) and one with a ticket (booking screen); their links."""
    conn = await asyncpg.connect(dsn)
    try:
        async with scene_on(conn, dsn, base) as scene:
            await scene.device("page-fix", son=False)
            await scene.event("page-fix", "E003", "raised")
            await scene.device("page-book", son=False)
            await scene.event("page-book", "E003", "raised")
            await scene.deliver()
            fix, book = scene.links_to(MOTHER)[-2:]
            async with httpx.AsyncClient() as http:
                answer = await http.post(book + "/still-broken", follow_redirects=False)
                assert answer.status_code == 303, answer.text
            return {"self-fix screen": fix, "booking screen": book}
    finally:
        await conn.close()


async def _load(browser: Any, url: str, throttled: bool) -> dict[str, float]:
    context = await browser.new_context(viewport={"width": 360, "height": 740}, locale="ko-KR")
    try:
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        await cdp.send("Network.enable")
        await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        if throttled:
            await cdp.send("Network.emulateNetworkConditions", FAST_3G)
        answer = await page.goto(url, wait_until="load")
        assert answer is not None
        assert answer.status == 200
        timing: dict[str, float] = await page.evaluate(_TIMING)
        timing["usable"] = max(timing["dcl"], timing["fcp"] or timing["dcl"])
        return timing
    finally:
        await context.close()


async def _measure(links: dict[str, str], loads: int) -> dict[str, dict[str, list[float]]]:
    figures: dict[str, dict[str, list[float]]] = {}
    async with chromium() as browser:
        for name, url in links.items():
            runs: dict[str, list[float]] = {"fast3g": [], "unthrottled": [], "bytes": [], "requests": []}
            for n in range(loads):
                slow = await _load(browser, url, throttled=True)
                runs["fast3g"].append(slow["usable"])
                runs["bytes"].append(slow["bytes"])
                runs["requests"].append(1 + slow["requests"])
                runs["unthrottled"].append((await _load(browser, url, throttled=False))["usable"])
                if (n + 1) % 5 == 0:
                    log(f"{name}: {n + 1}/{loads} loads")
            figures[name] = runs
    return figures


def _floor_ms(size: float) -> float:
    return FAST_3G["latency"] + size / FAST_3G["downloadThroughput"] * 1000  # type: ignore[operator]


def _table(figures: dict[str, dict[str, list[float]]], loads: int) -> str:
    lines = [
        f"Customer page at 360 × 740 in headless Chromium, {loads} loads each in a fresh context (no cache). "
        f"Fast 3G: {FAST_3G['latency']} ms latency, 1.44 Mbit/s down. Goal: first screen usable < {GOAL_MS:.0f} ms.",
        "",
        "| page | bytes (requests) | unthrottled p50 / p95 ms | floor on Fast 3G ms | Fast 3G p50 / p95 / max ms | goal |",
        "|---|---|---|---|---|---|",
    ]
    for name, runs in figures.items():
        size = percentile(runs["bytes"], 0.5)
        requests = int(max(runs["requests"]))
        slow, fast = runs["fast3g"], runs["unthrottled"]
        goal = "met" if percentile(slow, 0.95) < GOAL_MS else "MISSED"
        lines.append(
            f"| {name} | {size:,.0f} ({requests}) | {percentile(fast, 0.5):.0f} / {percentile(fast, 0.95):.0f} "
            f"| {_floor_ms(size):.0f} | {percentile(slow, 0.5):.0f} / {percentile(slow, 0.95):.0f} / {max(slow):.0f} "
            f"| {goal} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    with servers() as srv, serving_api(srv.dsn) as base:
        links = asyncio.run(_links(srv.dsn, base))
        figures = asyncio.run(_measure(links, args.loads))
    report(_table(figures, args.loads), args.output)
    if any(percentile(runs["fast3g"], 0.95) >= GOAL_MS for runs in figures.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
