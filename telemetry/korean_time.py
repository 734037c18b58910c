"""Korean time, the one calendar of the service: warranties, quiet hours, campaign days, the daily
health features and the times the console shows are all Korean, whatever the machine's zone.

Korea keeps no daylight saving time, so a fixed offset of nine hours is exact and needs no time
zone database on the machine.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Final

__all__ = ["KST", "kst_day", "kst_day_start"]

KST: Final = timezone(timedelta(hours=9))


def kst_day(at: datetime) -> date:
    """The Korean calendar day of an instant."""
    return at.astimezone(KST).date()


def kst_day_start(day: date) -> datetime:
    """The instant a Korean calendar day begins (midnight in Korea)."""
    return datetime.combine(day, time(0), tzinfo=KST)
