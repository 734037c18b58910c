"""Reads the quarantine back, newest first, for support staff looking into rejected device messages.

Payloads can be large and binary; a listing carries only a short, always-decodable preview of each
(the full size is reported alongside). The caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from telemetry import named_queries
from telemetry.database import Connection

__all__ = ["PAYLOAD_PREVIEW_BYTES", "QuarantineView", "list_quarantine"]

PAYLOAD_PREVIEW_BYTES: Final = 512

_Q: Final = named_queries.load("quarantine").require("list_quarantine")


@dataclass(frozen=True, slots=True)
class QuarantineView:
    quarantine_id: int
    topic: str
    device_id: str | None
    reason: str
    detail: str
    payload_preview: str
    """The first PAYLOAD_PREVIEW_BYTES bytes as UTF-8, undecodable bytes replaced."""
    payload_size: int
    first_seen: datetime
    last_seen: datetime
    occurrences: int


async def list_quarantine(
    conn: Connection,
    *,
    reason: str | None = None,
    device_id: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[QuarantineView]:
    """Quarantined messages newest first (by quarantine_id), those below `before_id` (keyset pagination)."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    rows = await conn.fetch(_Q["list_quarantine"], reason, device_id, before_id, limit, PAYLOAD_PREVIEW_BYTES)
    return [_view(r) for r in rows]


def _view(row: Any) -> QuarantineView:
    return QuarantineView(
        quarantine_id=row["quarantine_id"],
        topic=row["topic"],
        device_id=row["device_id"],
        reason=row["reason"],
        detail=row["detail"],
        payload_preview=bytes(row["payload_head"]).decode("utf-8", errors="replace"),
        payload_size=row["payload_size"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        occurrences=row["occurrences"],
    )
