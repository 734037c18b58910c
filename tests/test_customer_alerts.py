"""Customer alerts from fault to phone: templates per language, Alimtalk with SMS fallback, consent,
quiet hours, acknowledgement, and the parent peace-of-mind escalation to the next contact and the
call center. Providers are a real HTTP server on loopback (testbed/provider_sink.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import pytest

from diagnostics.catalog import load_catalog
from diagnostics.messages.texts import (
    LINK_PLACEHOLDER,
    PointName,
    TemplateError,
    compose,
    parse_templates,
    render,
)
from firmware_sim.faults import Injection, inject
from outbox.alerts.delivery import AlertConfig, AlertDeliverer, ProviderSettings, provider_chains, quiet_until
from outbox.outbound_http import OutboundClient
from protocol.broker import BrokerAddress
from telemetry.database import create_pool
from telemetry.device_registry import ContactRecord, DeviceRecord, register_devices
from telemetry.korean_time import KST
from testbed.provider_sink import ProviderSink
from testbed.support import (
    ApiClient,
    eventually,
    gateway_config,
    issue_api_key,
    running_gateway,
    running_worker,
    seed_points,
)

OWNER, CHILD, NEIGHBOUR = "+821050000001", "+821050000002", "+821050000003"


def test_quiet_hours_cross_midnight_in_korean_time() -> None:
    night, morning = time(21, 0), time(8, 0)
    at = lambda h, m=0: datetime(2026, 1, 10, h, m, tzinfo=KST)  # noqa: E731
    assert quiet_until(at(23), night, morning) == datetime(2026, 1, 11, 8, 0, tzinfo=KST)
    assert quiet_until(at(3), night, morning) == datetime(2026, 1, 10, 8, 0, tzinfo=KST)
    assert quiet_until(at(8), night, morning) is None
    assert quiet_until(at(20, 59), night, morning) is None
    assert quiet_until(at(13), time(12, 0), time(14, 0)) == datetime(2026, 1, 10, 14, 0, tzinfo=KST)
    assert quiet_until(at(13), time(9, 0), time(9, 0)) is None, "equal bounds: no quiet hours"
    assert quiet_until(at(8) + timedelta(seconds=10), night, time(8, 0, 30)) == at(8) + timedelta(seconds=30)


def test_templates_fill_every_variable_in_both_languages_and_refuse_unknown_ones() -> None:
    entry = load_catalog().get("E004")
    assert entry is not None
    message = compose(
        entry, "safety", service_point=PointName("서울 강남 서비스센터", "Seoul Gangnam Service Centre")
    )
    assert "서울 강남 서비스센터" in message.ko
    assert "Seoul Gangnam Service Centre" in message.en
    assert "${" not in (message.ko + message.en).replace(LINK_PLACEHOLDER, ""), (
        "all but the link, filled at send"
    )
    assert entry.name.en in message.en
    visit = render("visit_reminder", "en", {"code": "03", "code_name": "Ignition failure", "service_point": "Gangnam",
                                   "visit_time": "Tue 10:00"})  # fmt: skip
    assert "Gangnam" in visit
    assert "Tue 10:00" in visit
    with pytest.raises(TemplateError, match="unknown"):
        parse_templates({k: {"alimtalk_code": "X", "ko": "${nope}", "en": "x"} for k in
                         ("guidance", "safety", "emergency", "escalation", "visit")})  # fmt: skip


def _contacts(quiet: tuple[time, time]) -> tuple[ContactRecord, ...]:
    q = {"quiet_start": quiet[0], "quiet_end": quiet[1]}
    return (
        ContactRecord("어머니", OWNER, "owner", "kakao", "ko", **q),
        ContactRecord("Son", CHILD, "family", "sms", "en", **q),
        ContactRecord("Neighbour", NEIGHBOUR, "family", "sms", "ko", escalation_rank=1, **q),
    )


async def _device(db: asyncpg.Connection, device_id: str, contacts: tuple[ContactRecord, ...]) -> None:
    await seed_points(db)
    record = DeviceRecord(device_id, "NCB-300", f"SN-{device_id}", date(2024, 1, 1), "addr", "seoul", 37.5665,
                          126.9780, "어머니", 60, contacts)  # fmt: skip
    async with db.transaction():
        await register_devices(db, devices=[record])


@contextlib.asynccontextmanager
async def running_alerts(dsn: str, sink: ProviderSink) -> AsyncIterator[None]:
    pool = await create_pool(dsn, application_name="test-alerts", min_size=1, max_size=4)
    client = OutboundClient(3.0)
    providers = ProviderSettings(
        kind="http", sms_url=f"{sink.base}/sms", alimtalk_url=f"{sink.base}/alimtalk"
    )
    deliverer = AlertDeliverer(pool, provider_chains(pool, providers, client), AlertConfig(idle_poll_s=0.05))
    stop = asyncio.Event()
    task = asyncio.create_task(deliverer.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await client.aclose()
        await pool.close()


def _now_quiet() -> tuple[time, time]:
    """A quiet window around the present moment (Korean time)."""
    now = datetime.now(KST)
    return (now - timedelta(hours=1)).time().replace(second=0, microsecond=0), (
        now + timedelta(hours=1)
    ).time().replace(second=0, microsecond=0)


async def test_a_safety_fault_reaches_both_contacts_then_escalates_when_nobody_acknowledges(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    sink = ProviderSink(no_kakao={OWNER})  # the mother has no KakaoTalk: Alimtalk refuses, SMS carries it
    await _device(db, "boiler-1", _contacts(_now_quiet()))  # quiet hours now: safety alerts do not wait
    try:
        async with (
            running_gateway(gateway_config(db_dsn, broker)),
            running_worker(db_dsn, alert_ack_within=timedelta(seconds=2)),
            running_alerts(db_dsn, sink),
        ):
            await asyncio.to_thread(inject, broker, [Injection("boiler-1", "E004", "raised")])
            await eventually(
                lambda: asyncio.to_thread(lambda: sink.to(OWNER) and sink.to(CHILD)), what="both alerted"
            )
            owner, child = sink.to(OWNER)[0], sink.to(CHILD)[0]
            assert owner["path"] == "/sms", "Alimtalk refused the owner; SMS carried it"
            assert "리셋하지 마세요" in owner["text"], "the owner reads Korean"
            assert child["path"] == "/sms"
            assert "do not reset" in child["text"], "the son reads English"
            assert sink.to(NEIGHBOUR) == [], "the next contact waits for the acknowledgement time"
            escalated = await eventually(
                lambda: asyncio.to_thread(sink.to, NEIGHBOUR), what="escalation", timeout_s=30
            )
            assert "어머니" in escalated[0]["text"], "the neighbour is told whose boiler it is"
            ticket = await db.fetchrow("SELECT ticket_id, escalations FROM tickets")
            assert ticket["escalations"] >= 1
            events = await db.fetch("SELECT payload FROM outbox_events WHERE event_type = 'ticket.escalated'")
            assert any('"safety_alert_unacknowledged"' in e["payload"] for e in events)
            await asyncio.sleep(1.0)
        rows = await db.fetch(
            "SELECT phone, status, channel_used, wave, kind FROM customer_alerts ORDER BY alert_id"
        )
        assert [(r["phone"], r["status"], r["channel_used"], r["wave"]) for r in rows] == [
            (OWNER, "sent", "sms", 0),
            (CHILD, "sent", "sms", 0),
            (NEIGHBOUR, "sent", "sms", 1),
        ], "each alert once, one escalation"
        assert len(sink.to(NEIGHBOUR)) == 1
    finally:
        sink.close()


async def test_an_acknowledged_alert_does_not_escalate_and_customers_acknowledge_only_their_own(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    sink = ProviderSink()
    await _device(db, "boiler-1", _contacts((time(0, 0), time(0, 0))))
    other_customer = await issue_api_key(db_dsn, "customer", customer_phone=NEIGHBOUR)
    try:
        async with (
            running_gateway(gateway_config(db_dsn, broker)),
            running_worker(db_dsn, alert_ack_within=timedelta(seconds=3)),
            running_alerts(db_dsn, sink),
            ApiClient(db_dsn, role="customer", scope={"customer_phone": OWNER}) as me,
        ):
            await asyncio.to_thread(inject, broker, [Injection("boiler-1", "E004", "raised")])
            await eventually(lambda: asyncio.to_thread(sink.to, OWNER), what="owner alerted")
            assert sink.to(OWNER)[0]["path"] == "/alimtalk"
            assert sink.to(OWNER)[0]["template_code"] == "ONDOL_SAFETY_01"
            mine = (await me.get("/v1/devices/boiler-1/alerts")).json()
            assert [a["phone"] for a in mine] == [OWNER], "a customer sees their own alerts"
            stranger = await me.post(f"/v1/alerts/{mine[0]['alert_id'] + 1}/acknowledgement")
            assert stranger.status_code == 404, "not the son's alert"
            forged = await me.post(f"/v1/alerts/{mine[0]['alert_id']}/acknowledgement",
                                   headers={"Authorization": f"Bearer {other_customer}"})  # fmt: skip
            assert forged.status_code == 404
            acked = await me.post(f"/v1/alerts/{mine[0]['alert_id']}/acknowledgement")
            assert acked.status_code == 200
            assert len(acked.json()["acknowledged"]) == 2, "the whole case is acknowledged"
            await asyncio.sleep(5)
        assert sink.to(NEIGHBOUR) == []
        assert await db.fetchval("SELECT escalations FROM tickets") == 0
    finally:
        sink.close()


async def test_guidance_waits_out_quiet_hours_and_no_consent_means_no_message(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    sink = ProviderSink()
    quiet = _now_quiet()
    contacts = (
        ContactRecord("Owner", OWNER, "owner", "sms", quiet_start=quiet[0], quiet_end=quiet[1]),
        ContactRecord("Child", CHILD, "family", "sms", consent_alerts=False),
    )
    await _device(db, "boiler-1", contacts)
    try:
        async with (
            running_gateway(gateway_config(db_dsn, broker)),
            running_worker(db_dsn),
            running_alerts(db_dsn, sink),
        ):
            await asyncio.to_thread(inject, broker, [Injection("boiler-1", "E003", "raised")])  # guidance
            await eventually(
                lambda: db.fetchval("SELECT count(*) = 2 FROM customer_alerts WHERE status <> 'pending' OR last_error IS NOT NULL"),
                what="both alerts handled",
            )  # fmt: skip
            await asyncio.sleep(0.5)
            rows = await db.fetch(
                "SELECT phone, status, not_before, last_error, attempts FROM customer_alerts"
            )
        by_phone = {r["phone"]: r for r in rows}
        assert sink.received == []
        assert by_phone[OWNER]["status"] == "pending"
        assert by_phone[OWNER]["last_error"] == "quiet hours"
        assert by_phone[OWNER]["attempts"] == 0
        assert by_phone[OWNER]["not_before"] > datetime.now(UTC) + timedelta(minutes=50)
        assert by_phone[CHILD]["status"] == "skipped"
        assert by_phone[CHILD]["last_error"] == "no consent to alerts"
    finally:
        sink.close()


@pytest.mark.slow
async def test_killing_the_alert_worker_mid_stream_loses_no_alert(
    db: asyncpg.Connection, db_dsn: str
) -> None:
    """At least once: alerts claimed but not recorded when the worker dies are sent after the lease,
    under the same idempotency key, so the provider can drop the repeat."""
    await _device(db, "boiler-1", _contacts((time(0, 0), time(0, 0))))
    contact = await db.fetchval("SELECT contact_id FROM device_contacts WHERE phone = $1", CHILD)
    await db.executemany(
        "INSERT INTO customer_alerts (device_id, contact_id, phone, channel, kind, code, message_ko, message_en)"
        " VALUES ('boiler-1', $1, $2, 'sms', 'safety', 'E004', $3, $3)",
        [(contact, CHILD, f"message {i}") for i in range(40)],
    )
    sink = ProviderSink(delay_s=0.05)
    pool = await create_pool(db_dsn, application_name="test-alerts", min_size=1, max_size=8)
    client = OutboundClient(3.0)
    providers = ProviderSettings(
        kind="http", sms_url=f"{sink.base}/sms", alimtalk_url=f"{sink.base}/alimtalk"
    )
    config = AlertConfig(batch=10, lease_s=2.0, idle_poll_s=0.05)
    try:
        first = asyncio.create_task(
            AlertDeliverer(pool, provider_chains(pool, providers, client), config).run(asyncio.Event())
        )
        await eventually(lambda: asyncio.to_thread(lambda: len(sink.received) >= 15), what="some sent")
        first.cancel()  # killed between sending and recording some of them
        with contextlib.suppress(asyncio.CancelledError):
            await first
        assert await db.fetchval("SELECT count(*) FROM customer_alerts WHERE status = 'pending'") > 0
        stop = asyncio.Event()
        second = asyncio.create_task(
            AlertDeliverer(pool, provider_chains(pool, providers, client), config).run(stop)
        )
        await eventually(lambda: db.fetchval("SELECT count(*) = 40 FROM customer_alerts WHERE status = 'sent'"),
                         what="all sent", timeout_s=30)  # fmt: skip
        stop.set()
        await second
    finally:
        await client.aclose()
        await pool.close()
        sink.close()
    keys = [r["idempotency_key"] for r in sink.received]
    assert len(set(keys)) == 40, "every alert reached the provider"
    assert len(keys) - 40 <= config.batch, "repeats only for what was in flight at the kill"


async def _pending_alerts(db: asyncpg.Connection, phone: str, count: int, *, kind: str = "safety") -> None:
    await db.executemany(
        "INSERT INTO customer_alerts (device_id, contact_id, phone, channel, kind, code, message_ko, message_en)"
        " SELECT 'boiler-1', contact_id, phone, preferred_channel, $2, 'E004', $3, $3 FROM device_contacts"
        " WHERE phone = $1",
        [(phone, kind, f"message {i}") for i in range(count)],
    )


async def test_a_provider_that_is_down_is_retried_not_fallen_back_from_and_new_contact_rows_do_not_lose_alerts(
    db: asyncpg.Connection, db_dsn: str
) -> None:
    """Alimtalk answering 503 may still have delivered: no SMS copy, a retry instead. Re-registering
    the device (new contact rows) keeps the pending alert deliverable to the same number."""
    await _device(db, "boiler-1", _contacts((time(0, 0), time(0, 0))))
    await _pending_alerts(db, OWNER, 1)
    await _device(db, "boiler-1", _contacts((time(0, 0), time(0, 0))))  # contacts replaced, new ids
    sink = ProviderSink(down_paths={"/alimtalk"})
    try:
        async with running_alerts(db_dsn, sink):
            row = await eventually(
                lambda: db.fetchrow(
                    "SELECT status, attempts, last_error FROM customer_alerts WHERE attempts >= 2"
                ),
                what="retried",
            )
            assert row["status"] == "pending"
            assert "503" in row["last_error"]
            assert sink.received == [], "no SMS while the Alimtalk dealer may have delivered"
            sink.down_paths.clear()
            await eventually(lambda: db.fetchval("SELECT status = 'sent' FROM customer_alerts"), what="sent")
        assert [r["path"] for r in sink.received] == ["/alimtalk"]
    finally:
        sink.close()
