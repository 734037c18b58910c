"""When a customer may be sent a message that is not urgent: quiet windows in Korean time.

Every non-urgent alert waits out the contact's own quiet hours. Inspection reminders also wait out
the fixed night window (21:00 to 08:00): an offer of a service is advertising, which Korean law keeps
out of the night without separate consent, and a notice about a boiler that still works can wait for
the morning too.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Final

from telemetry.korean_time import KST

__all__ = [
    "ADVERTISING_KINDS",
    "NIGHT_END",
    "NIGHT_START",
    "REMINDER_KINDS",
    "quiet_until",
    "reminder_quiet_until",
]

NIGHT_START: Final = time(21, 0)
NIGHT_END: Final = time(8, 0)
REMINDER_KINDS: Final = frozenset(
    {"inspection", "inspection_offer", "visit_reminder", "result", "freeze_prep"}
)
"""Alert kinds that never go out between NIGHT_START and NIGHT_END."""
ADVERTISING_KINDS: Final = frozenset({"inspection_offer"})
"""Alert kinds that reach only contacts who consented to marketing."""


def quiet_until(now: datetime, start: time, end: time) -> datetime | None:
    """The end of the quiet window `now` falls in (Korean time), or None when it is not quiet.

    A window may cross midnight (21:00 to 08:00); start == end means no quiet hours."""
    local = now.astimezone(KST)
    clock = local.time().replace(tzinfo=None)
    if start == end:
        return None
    inside = start <= clock < end if start < end else clock >= start or clock < end
    if not inside:
        return None
    ends = local.replace(hour=end.hour, minute=end.minute, second=end.second, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return ends.astimezone(UTC)


def reminder_quiet_until(now: datetime, contact_start: time, contact_end: time) -> datetime | None:
    """When a reminder may go out at the earliest: after the night window and after the contact's
    own quiet hours, whichever ends later (each checked again from where the other ends)."""
    at = now
    for _ in range(3):  # the two windows can chain (night ends 08:00, contact's quiet until 09:00)
        later = max(
            (
                u
                for u in (
                    quiet_until(at, NIGHT_START, NIGHT_END),
                    quiet_until(at, contact_start, contact_end),
                )
                if u
            ),
            default=None,
        )
        if later is None:
            break
        at = later
    return None if at == now else at
