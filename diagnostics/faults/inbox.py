"""Drains the event inbox lane by lane: each lane is worked by one worker at a time, in queue order.

The inbox is telemetry's table (filled by the ingest); this consumer works it through
telemetry.event_inbox. An event and its effects commit with its removal from the inbox. An event
the engine cannot handle is recorded in `diagnostic_failures` (its effects rolled back to a
savepoint) rather than blocking its lane; a database that goes away rolls the whole lane chunk back
for a later retry.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

from diagnostics.faults import store
from diagnostics.faults.engine import FaultEngine
from telemetry import event_inbox
from telemetry.database import STORE_TRANSIENT, Connection, Pool
from telemetry.event_inbox import LANES, InboxEvent

__all__ = ["DrainResult", "InboxConsumer"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DrainResult:
    handled: int
    failed: int


class InboxConsumer:
    def __init__(self, pool: Pool, engine: FaultEngine, *, chunk: int = 500) -> None:
        self._pool = pool
        self._engine = engine
        self._chunk = chunk

    async def drain_once(self) -> DrainResult:
        """One pass over every lane this worker can lock; at most one chunk per lane."""
        handled = failed = 0
        lanes = list(range(LANES))
        random.shuffle(lanes)  # workers starting together should not queue on the same lane
        async with self._pool.acquire() as conn:
            for lane in lanes:
                done, bad = await self._drain_lane(conn, lane)
                handled += done
                failed += bad
        return DrainResult(handled, failed)

    async def _drain_lane(self, conn: Connection, lane: int) -> tuple[int, int]:
        """Handle one chunk of a lane in one transaction; on a failure, again event by event."""
        try:
            return await self._chunk_of(conn, lane, careful=False)
        except STORE_TRANSIENT:
            raise
        except Exception:
            log.warning("lane %d: a chunk failed; handling its events one by one", lane)
            return await self._chunk_of(conn, lane, careful=True)

    async def _chunk_of(self, conn: Connection, lane: int, *, careful: bool) -> tuple[int, int]:
        """The fast path handles a chunk with no savepoints; the careful one gives each event its own,
        so that a failing event is recorded and skipped while the others are applied."""
        async with conn.transaction():
            if not await event_inbox.try_lane(conn, lane):
                return 0, 0
            events = await event_inbox.oldest_in_lane(conn, lane, self._chunk)
            if not events:
                return 0, 0
            failed = 0
            for event in events:
                if careful:
                    failed += 0 if await self._handle_isolated(conn, event) else 1
                else:
                    await self._engine.handle(conn, event)
            await event_inbox.delete_handled(conn, [event.inbox_id for event in events])
        return len(events) - failed, failed

    async def _handle_isolated(self, conn: Connection, event: InboxEvent) -> bool:
        try:
            async with conn.transaction():
                await self._engine.handle(conn, event)
        except STORE_TRANSIENT:
            raise
        except Exception as exc:
            log.exception(
                "event %s/%s %s %s could not be handled", event.device_id, event.seq, event.code, event.state
            )
            await store.record_failure(conn, event, f"{type(exc).__name__}: {exc}")
            return False
        return True
