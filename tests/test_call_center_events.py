"""The call center's events: a writer in Python publishes in its own transaction, and the event fans
out to the subscriptions that want its type, as the events written by SQL do."""

from __future__ import annotations

import json
from typing import get_args

import asyncpg

from api.schemas.webhooks import EventType as SubscribableType
from diagnostics.call_center_events import EventType, publish


def test_the_api_offers_every_event_type_there_is() -> None:
    assert set(get_args(SubscribableType)) == {t.value for t in EventType}


async def test_a_published_event_commits_with_its_transaction_and_reaches_its_subscribers(
    db: asyncpg.Connection,
) -> None:
    await db.execute(
        "INSERT INTO webhook_subscriptions (url, secret, event_types) VALUES"
        " ('https://cc.example/offline', 'whsec_a', ARRAY['device.offline']),"
        " ('https://cc.example/tickets', 'whsec_b', ARRAY['ticket.opened'])"
    )
    tx = db.transaction()
    await tx.start()
    await publish(db, EventType.DEVICE_OFFLINE, "device/gone", {"device_id": "gone"})
    await tx.rollback()
    assert await db.fetchval("SELECT count(*) FROM outbox_events") == 0, "rolled back with its change"
    async with db.transaction():
        await publish(db, EventType.DEVICE_OFFLINE, "device/d1", {"device_id": "d1", "region": "서울"})
    event = await db.fetchrow("SELECT event_type, subject, payload FROM outbox_events")
    assert event is not None
    assert (event["event_type"], event["subject"]) == ("device.offline", "device/d1")
    assert json.loads(event["payload"]) == {"device_id": "d1", "region": "서울"}
    wanted = await db.fetch(
        "SELECT s.url FROM webhook_deliveries AS d JOIN webhook_subscriptions AS s USING (subscription_id)"
    )
    assert [w["url"] for w in wanted] == ["https://cc.example/offline"]
