"""The console under a real browser: Debian's Chromium driven by Playwright, and the API served by
uvicorn on a free loopback port, for the browser tests and the console benchmark.

Playwright never downloads a browser here: it launches the system's Chromium (apt package
`chromium`) with the flags a headless, offline, unprivileged run needs.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Final

import uvicorn
from playwright.async_api import Browser, Page, async_playwright

from api.app import ApiConfig, create_app
from ondol.local_servers import free_port

__all__ = ["ARTIFACTS", "AXE", "axe_violations", "chromium", "chromium_path", "serving_api", "sign_in"]

ARTIFACTS: Final = Path(__file__).resolve().parent.parent / "test-artifacts" / "console"
AXE: Final = Path(__file__).resolve().parent.parent / "tests" / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM_FLAGS: Final = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
)  # fmt: skip


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    raise RuntimeError("Chromium is not installed: run scripts/install-system.sh (apt package chromium)")


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_FLAGS))
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.contextmanager
def serving_api(database_url: str) -> Iterator[str]:
    """The API (and so the console) on 127.0.0.1:<free port> in a thread of its own; its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(ApiConfig(database_url=database_url, pool_max_size=4)),
                       host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")
    )  # fmt: skip
    thread = threading.Thread(target=server.run, name="console-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


async def sign_in(page: Page, base: str, api_key: str, path: str = "/console") -> None:
    """Open `path`, get sent to the sign-in form, sign in, and come back to `path`."""
    await page.goto(base + path)
    await page.get_by_label("API").fill(api_key)
    await page.locator("form button[type=submit]").click()
    await page.wait_for_url(lambda url: "/sign-in" not in url)


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical WCAG 2 A/AA violations axe-core finds on the page as it is now."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = await page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]  # fmt: skip
