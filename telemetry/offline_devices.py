"""Offline episodes (migration 0010): a device not heard for three report intervals, or whose last
will said disconnected, is offline; `device_state.offline_notified_at` marks an episode already
told, so that each episode is told once, and is cleared when the device is heard again.

Telemetry owns the mark; diagnostics tells the call center (device.offline) about the devices these
functions mark, in the same transaction, so a mark and its event commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from telemetry import named_queries
from telemetry.database import Connection

__all__ = ["GoneOffline", "clear_returned", "mark_gone_offline"]

_Q: Final = named_queries.load("offline_devices").require("clear_returned", "mark_gone_offline")


@dataclass(frozen=True, slots=True)
class GoneOffline:
    """A device whose offline episode was just marked."""

    device_id: str
    model: str
    region: str | None
    last_seen: datetime | None
    disconnected: bool
    """Its last will said so (rather than falling silent)."""
    detected_at: datetime


async def clear_returned(conn: Connection) -> None:
    """Devices online again lose their mark: their next disappearance is a new episode."""
    await conn.execute(_Q["clear_returned"])


async def mark_gone_offline(conn: Connection, limit: int) -> list[GoneOffline]:
    """Mark up to `limit` devices gone offline since they were last told about (rows another worker
    is marking are skipped); the devices marked, in device order. Devices never heard from have no
    state and are not "gone"."""
    return [GoneOffline(**dict(r)) for r in await conn.fetch(_Q["mark_gone_offline"], limit)]
