"""Webhooks to the call center: signed CloudEvents, at least once, in order per ticket, through a
receiver that goes down and comes back, a delivery worker killed mid-stream, and a URL guard."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from outbox.outbound_guard import OutboundPolicy
from outbox.webhooks.delivery import DeliveryConfig, WebhookDeliverer
from outbox.webhooks.signing import WebhookVerificationError, new_secret, signature_header, verify
from outbox.webhooks.store import create_subscription
from telemetry.database import create_pool
from testbed.support import ApiClient, eventually
from testbed.webhook_receiver import WebhookReceiver

TICKET_EVENTS = ["ticket.opened", "ticket.updated", "ticket.escalated", "ticket.resolved"]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.close()


async def subscribe(
    db: asyncpg.Connection, receiver: WebhookReceiver, types: list[str] = TICKET_EVENTS
) -> int:
    receiver.secret = new_secret()
    row = await create_subscription(
        db, url=receiver.url, secret=receiver.secret, event_types=types, description="call center"
    )
    return row.subscription_id


async def emit(db: asyncpg.Connection, tickets: int, per_ticket: int, *, kind: str = "repair") -> None:
    """Outbox events as the diagnostics engine writes them, tickets interleaved."""
    for n in range(per_ticket):
        for t in range(1, tickets + 1):
            event_type = "ticket.opened" if n == 0 else "ticket.updated"
            payload = json.dumps({"ticket_id": t, "n": n, "kind": kind})
            await db.execute("INSERT INTO outbox_events (event_type, subject, payload) VALUES ($1, $2, $3)",
                             event_type, f"ticket/{t}", payload)  # fmt: skip


def in_order_per_ticket(received: list[dict[str, object]]) -> dict[int, list[int]]:
    order: dict[int, list[int]] = defaultdict(list)
    for event in received:
        data = event["data"]
        assert isinstance(data, dict)
        order[int(data["ticket_id"])].append(int(data["n"]))
    return order


# --- signatures --------------------------------------------------------------------------------


def test_a_genuine_signature_verifies_and_forged_or_stale_ones_do_not() -> None:
    secret, body, now = new_secret(), b'{"type":"ticket.opened"}', 1_800_000_000
    headers = {"webhook-id": "evt_1", "webhook-timestamp": str(now),
               "webhook-signature": signature_header(secret, "evt_1", now, body)}  # fmt: skip
    assert verify(secret, headers, body, now=now + 10) == "evt_1"
    rotated = dict(headers, **{"webhook-signature": "v1,bm9wZQ== " + headers["webhook-signature"]})
    assert verify(secret, rotated, body, now=now) == "evt_1", "any of several signatures may match"
    forged = [
        (new_secret(), headers, body),  # another secret
        (secret, headers, body + b" "),  # the body changed
        (secret, dict(headers, **{"webhook-id": "evt_2"}), body),  # the id changed
        (secret, dict(headers, **{"webhook-timestamp": str(now + 1)}), body),  # the time changed
        (secret, dict(headers, **{"webhook-signature": "v2," + headers["webhook-signature"][3:]}), body),
        (secret, {k: v for k, v in headers.items() if k != "webhook-signature"}, body),
    ]
    for key, h, b in forged:
        with pytest.raises(WebhookVerificationError):
            verify(key, h, b, now=now)
    with pytest.raises(WebhookVerificationError, match="too far"):
        verify(secret, headers, body, now=now + 301)  # a replay of an old capture
    with pytest.raises(WebhookVerificationError, match="too far"):
        verify(secret, headers, body, now=now - 301)


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    config = DeliveryConfig(backoff_base_s=1, backoff_cap_s=60)
    assert [config.retry(safety=False).delay(n, rng=lambda: 1.0) for n in (1, 2, 3, 7, 8, 50)] == [
        1,
        2,
        4,
        60,
        60,
        60,
    ]
    assert config.retry(safety=False).delay(3, rng=lambda: 0.0) == 2, "jitter keeps at least half the delay"
    assert config.retry(safety=True).delay(40, rng=lambda: 1.0) == 5, "safety events: a few seconds at most"


# --- delivery ----------------------------------------------------------------------------------


async def test_a_receiver_down_for_a_while_gets_every_event_once_in_order_per_ticket(
    db: asyncpg.Connection, db_dsn: str, receiver: WebhookReceiver
) -> None:
    subscription = await subscribe(db, receiver)
    await emit(db, tickets=6, per_ticket=5)
    receiver.down = True
    pool = await create_pool(db_dsn, application_name="test-webhooks")
    config = DeliveryConfig(policy=OutboundPolicy.allowing(["127.0.0.1/32"]), backoff_base_s=0.05,
                            backoff_cap_s=0.2, idle_poll_s=0.02)  # fmt: skip
    deliverer = WebhookDeliverer(pool, config)
    stop = asyncio.Event()
    running = asyncio.create_task(deliverer.run(stop))
    try:
        await eventually(lambda: _true(len(receiver.received) >= 18), what="attempts while down")
        receiver.down = False
        await eventually(
            lambda: _true(len(receiver.unique_accepted()) == 30), what="every event", timeout_s=30
        )
        await eventually(lambda: db.fetchval("SELECT count(*) = 30 FROM webhook_deliveries WHERE status = 'delivered'"),
                         what="deliveries recorded")  # fmt: skip
    finally:
        stop.set()
        await running
        await pool.close()
    first = receiver.unique_accepted()
    assert receiver.bad_signatures == 0
    events = [r.event for r in first.values()]
    assert all(e["specversion"] == "1.0" and e["source"] == "urn:ondol" and e["id"] == wid
               for e, wid in zip(events, first, strict=True))  # fmt: skip
    assert {r.headers["content-type"] for r in first.values()} == {"application/cloudevents+json"}
    assert in_order_per_ticket(events) == {t: [0, 1, 2, 3, 4] for t in range(1, 7)}
    # While down, only the first event of each ticket was tried (order), each several times.
    down = [r for r in receiver.received if not r.accepted]
    assert {r.event["data"]["n"] for r in down} == {0}
    log = await db.fetch(
        "SELECT a.status_code, a.response_excerpt FROM webhook_attempts AS a "
        "JOIN webhook_deliveries AS d USING (delivery_id) WHERE d.subscription_id = $1 AND a.status_code = 503",
        subscription,
    )
    assert len(log) == len(down)
    assert all(len(r["response_excerpt"]) == 512 for r in log), "only the start of an answer is kept"


@pytest.mark.slow
async def test_killing_the_delivery_worker_mid_stream_loses_no_event(
    db: asyncpg.Connection, db_dsn: str, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    await subscribe(db, receiver)
    await emit(db, tickets=20, per_ticket=15)
    receiver.delay_s = 0.005
    env = dict(os.environ, ONDOL_DATABASE_URL=db_dsn, ONDOL_WEBHOOK_ALLOWED_NETWORKS='["127.0.0.1/32"]',
               ONDOL_WEBHOOK_TIMEOUT_S="1", ONDOL_WEBHOOK_LEASE_S="3")  # fmt: skip
    log = tmp_path / "webhooks.log"

    def start() -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen([sys.executable, "-m", "ondol", "webhooks"], env=env, stdout=out,
                                    stderr=subprocess.STDOUT)  # fmt: skip

    worker = start()
    try:
        await eventually(lambda: _true(len(receiver.accepted()) >= 80), what="a third sent", timeout_s=30)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        killed_at = len(receiver.accepted())
        worker = start()
        await eventually(
            lambda: _true(len(receiver.unique_accepted()) == 300), what="every event", timeout_s=60
        )
        await eventually(lambda: db.fetchval("SELECT count(*) = 300 FROM webhook_deliveries WHERE status = 'delivered'"),
                         what="deliveries recorded", timeout_s=30)  # fmt: skip
    finally:
        worker.terminate()
        worker.wait(30)
    assert killed_at < 300, "the kill happened mid-stream"
    events = [r.event for r in receiver.unique_accepted().values()]
    assert in_order_per_ticket(events) == {t: list(range(15)) for t in range(1, 21)}
    assert receiver.bad_signatures == 0


async def test_safety_critical_events_are_retried_within_seconds(
    db: asyncpg.Connection, db_dsn: str, receiver: WebhookReceiver
) -> None:
    await subscribe(db, receiver)
    await emit(db, tickets=1, per_ticket=1, kind="emergency")
    await emit(db, tickets=1, per_ticket=1, kind="repair")  # ticket 1 again: queued behind
    flags = await db.fetch("SELECT safety FROM webhook_deliveries ORDER BY delivery_id")
    assert [r["safety"] for r in flags] == [True, False]
    await db.execute("UPDATE webhook_deliveries SET attempts = 20")  # as if failing for a long time
    receiver.down = True
    pool = await create_pool(db_dsn, application_name="test-webhooks")
    deliverer = WebhookDeliverer(pool, DeliveryConfig(policy=OutboundPolicy.allowing(["127.0.0.1/32"])))
    try:
        await deliverer.deliver_due()
        wait = await db.fetchval(
            "SELECT extract(epoch FROM next_attempt_at - clock_timestamp()) FROM webhook_deliveries WHERE safety"
        )
    finally:
        await pool.close()
    assert 0 < wait <= 5.0, "after 21 failures a safety event still waits at most 5 s"


async def test_a_delivery_to_a_forbidden_address_is_refused_and_logged(
    db: asyncpg.Connection, db_dsn: str, receiver: WebhookReceiver
) -> None:
    await subscribe(db, receiver)
    await emit(db, tickets=1, per_ticket=1)
    pool = await create_pool(db_dsn, application_name="test-webhooks")
    try:
        await WebhookDeliverer(pool, DeliveryConfig()).deliver_due()  # loopback not allowed here
    finally:
        await pool.close()
    attempt = await db.fetchrow("SELECT status_code, error FROM webhook_attempts")
    assert attempt["status_code"] is None
    assert attempt["error"].startswith("blocked: '127.0.0.1' resolves to a non-public address")
    assert receiver.received == []
    assert await db.fetchval("SELECT status FROM webhook_deliveries") == "pending", "retried later"


# --- API ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://user:pw@203.0.113.9/hook",
        "ftp://203.0.113.9/hook",
        "http:///no-host",
    ],
)
async def test_subscribing_a_url_that_leads_inside_is_refused(db_dsn: str, url: str) -> None:
    async with ApiClient(db_dsn) as client:
        response = await client.post("/v1/webhooks", json={"url": url, "event_types": ["ticket.opened"]})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_subscriptions_deliveries_and_replay_through_the_api(
    db: asyncpg.Connection, db_dsn: str, receiver: WebhookReceiver
) -> None:
    async with ApiClient(db_dsn, webhook_allowed_networks=("127.0.0.1/32",)) as client:
        created = await client.post(
            "/v1/webhooks", json={"url": receiver.url, "event_types": ["ticket.opened", "ticket.opened"]}
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["secret"].startswith("whsec_")
        assert body["event_types"] == ["ticket.opened"]
        sid = body["subscription_id"]
        assert created.headers["location"] == f"/v1/webhooks/{sid}"
        listed = (await client.get("/v1/webhooks")).json()
        assert [s["subscription_id"] for s in listed["items"]] == [sid]
        assert "secret" not in listed["items"][0]
        assert "secret" not in (await client.get(f"/v1/webhooks/{sid}")).json()
        bad = await client.post(
            "/v1/webhooks", json={"url": receiver.url, "event_types": ["ticket.exploded"]}
        )
        assert bad.status_code == 422

        receiver.secret = body["secret"]
        await emit(db, tickets=2, per_ticket=2)  # 2 opened (subscribed), 2 updated (not)
        pool = await create_pool(db_dsn, application_name="test-webhooks")
        try:
            deliverer = WebhookDeliverer(
                pool, DeliveryConfig(policy=OutboundPolicy.allowing(["127.0.0.1/32"]))
            )
            assert await deliverer.deliver_due() == 2
            deliveries = (await client.get(f"/v1/webhooks/{sid}/deliveries")).json()["items"]
            assert [(d["subject"], d["status"], d["attempts"]) for d in deliveries] == [
                ("ticket/2", "delivered", 1), ("ticket/1", "delivered", 1)
            ]  # fmt: skip
            first = deliveries[1]["delivery_id"]
            attempts = (await client.get(f"/v1/webhooks/{sid}/deliveries/{first}/attempts")).json()
            assert [a["status_code"] for a in attempts] == [204]

            replayed = await client.post(f"/v1/webhooks/{sid}/deliveries/{first}/replay")
            assert replayed.status_code == 200
            assert replayed.json()["status"] == "pending"
            assert await deliverer.deliver_due() == 1
        finally:
            await pool.close()
        ids = [r.webhook_id for r in receiver.accepted()]
        assert len(ids) == 3
        assert ids[2] == f"evt_{deliveries[1]['event_id']}", (
            "a replay keeps the webhook-id, so receivers de-duplicate"
        )
        assert sorted(ids[:2]) == sorted({ids[0], ids[1]}), "two different events first"
        assert (await client.post(f"/v1/webhooks/{sid}/deliveries/999/replay")).status_code == 404
        assert (await client.delete(f"/v1/webhooks/{sid}")).status_code == 204
        assert (await client.get(f"/v1/webhooks/{sid}")).json()["active"] is False
        await emit(db, tickets=1, per_ticket=1)
        assert await db.fetchval("SELECT count(*) FROM webhook_deliveries") == 2, "disabled: nothing new"
        assert (await client.delete("/v1/webhooks/12345")).status_code == 404


async def _true(value: bool) -> bool:
    return value
