"""The sink provider's record (table alert_sink_messages, migration 0009): the messages it kept
instead of sending, which GET /v1/alert-sink shows (the local stack's stand-in for SMS and
KakaoTalk). outbox/alerts owns the table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from telemetry import named_queries
from telemetry.database import Connection

__all__ = ["SinkMessage", "erase_recipient", "list_sink_messages", "record_sink_message"]

_Q: Final = named_queries.load("sink", package="outbox.alerts").require(
    "erase_recipient", "insert_sink_message", "list_sink_messages"
)


@dataclass(frozen=True, slots=True)
class SinkMessage:
    message_id: int
    alert_id: int | None
    channel: str
    recipient: str
    template_code: str | None
    body: str
    received_at: datetime


async def record_sink_message(
    conn: Connection,
    *,
    alert_id: int | None,
    channel: str,
    recipient: str,
    template_code: str | None,
    body: str,
) -> int:
    return int(
        await conn.fetchval(_Q["insert_sink_message"], alert_id, channel, recipient, template_code, body)
    )


async def list_sink_messages(conn: Connection, *, before: int | None, limit: int) -> list[SinkMessage]:
    return [SinkMessage(**dict(r)) for r in await conn.fetch(_Q["list_sink_messages"], before, limit)]


async def erase_recipient(conn: Connection, phone_national: str) -> int:
    """Data protection: delete what the sink recorded for this number; how many."""
    return int(await conn.fetchval(_Q["erase_recipient"], phone_national))
