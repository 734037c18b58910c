"""The inspection campaign's scheduled jobs: the first plan when its time comes, the daily re-plan
(at night, Korean time), the reminders and the follow-ups."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from diagnostics.campaigns.jobs import CampaignJobs
from diagnostics.campaigns.plan import CampaignConfig
from telemetry.database import Pool
from telemetry.scheduling import DailyKst, Every, ScheduledJob

__all__ = ["jobs"]

log = logging.getLogger(__name__)


def jobs(
    pool: Pool, config: CampaignConfig, *, every_s: float, replan_at: tuple[int, int]
) -> list[ScheduledJob]:
    """`every_s`: how often the first plan is looked for and reminders and follow-ups are sent;
    `replan_at`: (hour, minute) of the re-plan, Korean time."""
    campaign = CampaignJobs(config)
    return [
        ScheduledJob("campaign-plan", Every(every_s), lambda: _plan(pool, campaign)),
        ScheduledJob(
            "campaign-replan",
            DailyKst(*replan_at),
            lambda: _replan(pool, campaign),
            log_name="campaign re-plan",
        ),
        ScheduledJob("inspection-reminders", Every(every_s), _remind(pool, campaign, wave=0)),
        ScheduledJob("inspection-follow-ups", Every(every_s), _remind(pool, campaign, wave=1)),
    ]


async def _plan(pool: Pool, campaign: CampaignJobs) -> None:
    async with pool.acquire() as conn:
        if report := await campaign.plan_if_due(conn, datetime.now(UTC)):
            why = "; ".join(report.why_nothing_new)
            log.info("inspection campaign %d planned: %d inspections%s", report.season, report.selected,
                     f" (none new: {why})" if why else "")  # fmt: skip


async def _replan(pool: Pool, campaign: CampaignJobs) -> None:
    async with pool.acquire() as conn:
        if (report := await campaign.replan(conn, datetime.now(UTC))) and report.changed:
            log.info("inspection campaign %d re-planned: %d new, %d moved, %d withdrawn, %d lapsed",
                     report.season, report.new, report.moved, report.withdrawn, report.lapsed)  # fmt: skip


def _remind(pool: Pool, campaign: CampaignJobs, *, wave: int) -> Callable[[], Awaitable[None]]:
    """Wave 0 sends the reminders, wave 1 the follow-ups."""

    async def run() -> None:
        async with pool.acquire() as conn:
            if (report := await campaign.remind(conn, datetime.now(UTC), wave)).inspections:
                log.info("inspection reminders (wave %d): %s", wave, report)

    return run
