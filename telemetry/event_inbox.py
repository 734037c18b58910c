"""The event inbox (migration 0003): device events the ingest queues for diagnostics in the
transaction that stores them (see the `insert_events` query), until the diagnostics worker has
handled them.

Telemetry owns the table; its consumer works it through these functions, inside its own
transaction, so that an event's effects and its removal from the inbox commit together. Events are
queued in lanes (a hash of the device): a lane is worked by one worker at a time, in queue order,
which keeps each device's events in order however many workers run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from telemetry import named_queries
from telemetry.database import Connection

__all__ = ["EVENT_INBOX_CHANNEL", "LANES", "InboxEvent", "delete_handled", "oldest_in_lane", "try_lane"]

_Q: Final = named_queries.load("event_inbox").require("delete_handled", "oldest_in_lane", "try_lane")

LANES: Final = 16
"""Must match the modulus of `event_inbox.lane` in the migration."""

EVENT_INBOX_CHANNEL: Final = "ondol_event_inbox"
"""The LISTEN channel notified when new events are queued (see the `notify_events` query)."""


@dataclass(frozen=True, slots=True)
class InboxEvent:
    """A device event waiting for diagnostics."""

    inbox_id: int
    device_id: str
    ts: datetime
    seq: int
    code: str
    state: str
    """'raised' or 'cleared'."""
    received_at: datetime

    @property
    def raised(self) -> bool:
        return self.state == "raised"


async def try_lane(conn: Connection, lane: int) -> bool:
    """Take the lane for this transaction; False when another worker has it."""
    return bool(await conn.fetchval(_Q["try_lane"], lane))


async def oldest_in_lane(conn: Connection, lane: int, limit: int) -> list[InboxEvent]:
    """The lane's first `limit` events in queue order (take the lane first)."""
    return [InboxEvent(**dict(r)) for r in await conn.fetch(_Q["oldest_in_lane"], lane, limit)]


async def delete_handled(conn: Connection, inbox_ids: Sequence[int]) -> None:
    """Take handled events off the inbox, in the transaction that applied their effects."""
    await conn.execute(_Q["delete_handled"], list(inbox_ids))
