"""The customer link's scheduled job: the visit reminders (TOUCH)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from diagnostics.customer_link.reminders import send_visit_reminders
from telemetry.database import Pool
from telemetry.scheduling import Every, ScheduledJob

__all__ = ["jobs"]

log = logging.getLogger(__name__)


def jobs(pool: Pool, *, every_s: float) -> list[ScheduledJob]:
    return [ScheduledJob("visit-reminders", Every(every_s), lambda: _remind(pool))]


async def _remind(pool: Pool) -> None:
    async with pool.acquire() as conn:
        sent = await send_visit_reminders(conn, datetime.now(UTC))
    if sent.visits:
        log.info("visit reminders: %d visits, %d messages", sent.visits, sent.messages)
