"""The loop of the outbox workers (webhooks, customer alerts): run a pass, and when it found
nothing to do, wait for the poll interval or the stop signal; a database outage is waited out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from telemetry.database import STORE_UNAVAILABLE

__all__ = ["poll_until_stopped"]

log = logging.getLogger(__name__)

OUTAGE_PAUSE_S = 1.0


async def poll_until_stopped(
    one_pass: Callable[[], Awaitable[int]], stop: asyncio.Event, idle_poll_s: float
) -> None:
    """Call `one_pass` (it returns how much it handled) until `stop` is set."""
    while not stop.is_set():
        try:
            handled = await one_pass()
        except STORE_UNAVAILABLE as exc:
            log.warning("database unavailable (%s); retrying", exc)
            handled = 0
            await asyncio.sleep(OUTAGE_PAUSE_S)
        if handled == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), idle_poll_s)
