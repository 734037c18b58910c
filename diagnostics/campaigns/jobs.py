"""The campaign's scheduled jobs: plan the season when its time comes, re-plan it daily, send the
reminder waves and the follow-ups. Each is safe to run anywhere, any number of times: the plan is
made under the season's advisory lock and writes only differences, and reminders are claimed with
SKIP LOCKED and written once per inspection, contact and wave.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from diagnostics.campaigns.plan import CampaignConfig, PlanReport, campaign_window, plan_campaign
from diagnostics.campaigns.reminders import ReminderReport, send_reminders
from diagnostics.campaigns.store import campaign_of_season
from telemetry.database import Connection
from telemetry.korean_time import KST

__all__ = ["CampaignJobs"]


@dataclass(frozen=True, slots=True)
class CampaignJobs:
    """The jobs for the season of the current year, as of `now`."""

    config: CampaignConfig

    async def plan_if_due(self, conn: Connection, now: datetime) -> PlanReport | None:
        """Make the season's first plan once its planning day has come (the re-plan does the rest)."""
        today = now.astimezone(KST).date()
        season = today.year
        window = campaign_window(season, self.config)
        if not window.first - timedelta(days=self.config.plan_lead_days) <= today <= window.last:
            return None
        if await campaign_of_season(conn, season) is not None:
            return None
        return await plan_campaign(conn, season, today=today, config=self.config, actor="planner")

    async def replan(self, conn: Connection, now: datetime) -> PlanReport | None:
        """Re-plan the running season: answers, new risks and passed days taken into account."""
        today = now.astimezone(KST).date()
        campaign = await campaign_of_season(conn, today.year)
        if campaign is None or today > campaign.last_day:
            return None
        return await plan_campaign(conn, today.year, today=today, config=self.config, actor="re-plan")

    async def remind(self, conn: Connection, now: datetime, wave: int) -> ReminderReport:
        return await send_reminders(conn, _season(now), now=now, wave=wave, config=self.config)


def _season(now: datetime) -> int:
    day: date = now.astimezone(KST).date()
    return day.year
