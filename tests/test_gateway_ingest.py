"""The gateway against a real broker and a real database: what arrives is stored once, what is bad is
quarantined with its reason, and the device state follows."""

from __future__ import annotations

import json
from dataclasses import replace

import asyncpg
import httpx

from ondol.local_servers import free_port
from protocol.broker import BrokerAddress
from testbed.support import Publisher, eventually, gateway_config, now_iso, register, running_gateway, sample


def reading(seq: int, **values: object) -> str:
    return json.dumps({"seq": seq, "ts": now_iso(-seq), **values})


async def test_valid_telemetry_is_stored_with_its_values_and_state(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    await register(db, "boiler-1")
    pub = Publisher(broker)
    async with running_gateway(gateway_config(db_dsn, broker)):
        pub.publish(
            "ondol/v1/boiler-1/telemetry",
            reading(1, ch_flow_c=61.5, room_c=20.25, flame_on=True, firmware_note="x"),
        )
        row = await eventually(
            lambda: db.fetchrow("SELECT * FROM readings WHERE device_id = 'boiler-1'"), what="reading stored"
        )
        state = await eventually(
            lambda: db.fetchrow(
                "SELECT s.*, reading_json(r) AS latest FROM device_state AS s "
                "JOIN readings AS r ON (r.device_id, r.ts, r.seq) = (s.device_id, s.last_reading_at, s.last_seq) "
                "WHERE s.device_id = 'boiler-1'"
            )
        )
    pub.close()
    assert row["seq"] == 1
    assert row["ch_flow_c"] == 61.5
    assert row["room_c"] == 20.25
    assert row["flame_on"] is True
    assert json.loads(row["extra"]) == {"firmware_note": "x"}, "unknown fields are kept, not rejected"
    latest = json.loads(state["latest"])
    assert latest["ch_flow_c"] == 61.5
    assert latest["firmware_note"] == "x", "the latest values show unknown fields as the device sent them"
    assert "received_at" not in latest
    assert state["last_seq"] == 1
    assert state["last_seen"] is not None


async def test_redelivered_message_is_stored_once(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    await register(db, "boiler-1")
    payload = reading(7, room_c=21.0)
    pub = Publisher(broker)
    async with running_gateway(gateway_config(db_dsn, broker)) as metrics:
        for _ in range(3):
            pub.publish("ondol/v1/boiler-1/telemetry", payload)
        await eventually(
            lambda: _async(sample(metrics, "ondol_gateway_received_total") >= 3), what="3 deliveries"
        )
        await eventually(lambda: _async(sample(metrics, "ondol_gateway_acked_total") >= 3), what="3 acks")
    pub.close()
    assert await db.fetchval("SELECT count(*) FROM readings") == 1
    assert sample(metrics, "ondol_gateway_redelivered_total") == 2


async def test_events_raise_and_clear_active_faults_in_device_time_order(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    await register(db, "boiler-1")
    pub = Publisher(broker)
    async with running_gateway(gateway_config(db_dsn, broker)):
        pub.publish(
            "ondol/v1/boiler-1/events",
            json.dumps({"seq": 1, "ts": now_iso(-30), "code": "E003", "state": "raised"}),
        )
        pub.publish(
            "ondol/v1/boiler-1/events",
            json.dumps({"seq": 2, "ts": now_iso(-20), "code": "E016", "state": "raised"}),
        )
        pub.publish(
            "ondol/v1/boiler-1/events",
            json.dumps({"seq": 3, "ts": now_iso(-10), "code": "E003", "state": "cleared"}),
        )
        # A late copy of the first event must not reopen E003.
        pub.publish(
            "ondol/v1/boiler-1/events",
            json.dumps({"seq": 1, "ts": now_iso(-40), "code": "E003", "state": "raised"}),
        )
        await eventually(lambda: db.fetchval("SELECT count(*) = 4 FROM events"), what="4 events stored")
        active = await db.fetch(
            "SELECT code FROM device_faults WHERE device_id = 'boiler-1' AND active ORDER BY code"
        )
    pub.close()
    assert [r["code"] for r in active] == ["E016"]


async def test_birth_and_last_will_set_connection_state(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    await register(db, "boiler-1")
    pub = Publisher(broker)
    async with running_gateway(gateway_config(db_dsn, broker)):
        pub.publish(
            "ondol/v1/boiler-1/status",
            json.dumps({"online": True, "model": "NCB-300", "fw": "2.1"}),
            retain=True,
        )
        await eventually(
            lambda: db.fetchval("SELECT connected FROM device_state WHERE device_id = 'boiler-1'"),
            what="online",
        )
        pub.publish("ondol/v1/boiler-1/status", json.dumps({"online": False}), retain=True)
        await eventually(
            lambda: db.fetchval("SELECT connected = false FROM device_state WHERE device_id = 'boiler-1'"),
            what="offline",
        )
        firmware = await db.fetchval("SELECT firmware FROM device_state WHERE device_id = 'boiler-1'")
    pub.close()
    assert firmware == "2.1", "a last will without model or firmware keeps what the birth said"


BAD_INPUTS = [
    # (topic, payload, expected reason)
    ("ondol/v1/boiler-1/telemetry", b"{not json", "bad_json"),
    ("ondol/v1/boiler-1/telemetry", b"", "bad_json"),
    ("ondol/v1/boiler-1/telemetry", b"[1, 2, 3]", "not_an_object"),
    ("ondol/v1/boiler-1/telemetry", b"\xff\xfe\xfd", "not_utf8"),
    (
        "ondol/v1/boiler-1/telemetry",
        json.dumps({"seq": 1, "ts": "2026-01-01T00:00:00"}).encode(),
        "invalid_payload",
    ),
    ("ondol/v1/boiler-1/telemetry", json.dumps({"ts": "2026-11-01T00:00:00Z"}).encode(), "invalid_payload"),
    ("ondol/v1/boiler-1/telemetry", b'{"seq": 5, "ts": "TS", "room_c": "warm"}', "invalid_payload"),
    ("ondol/v1/boiler-1/telemetry", b'{"seq": 6, "ts": "TS", "ch_flow_c": 480}', "out_of_range"),
    ("ondol/v1/boiler-1/telemetry", b'{"seq": 7, "ts": "2099-01-01T00:00:00Z"}', "clock_skew"),
    ("ondol/v1/boiler-1/telemetry", b'{"seq": 8, "ts": "TS", "pad": "' + b"x" * 5000 + b'"}', "oversized"),
    (
        "ondol/v1/boiler-1/events",
        b'{"seq": 9, "ts": "TS", "code": "X99", "state": "raised"}',
        "invalid_payload",
    ),
    (
        "ondol/v1/boiler-1/events",
        b'{"seq": 10, "ts": "TS", "code": "E003", "state": "maybe"}',
        "invalid_payload",
    ),
    ("ondol/v1/boiler-1/status", b'{"online": "yes"}', "invalid_payload"),
    (
        "ondol/v1/boiler-1/telemetry",
        b'{"seq": 11, "ts": "TS", "note": "nul \\u0000 here"}',
        "invalid_payload",
    ),
    ("ondol/v1/boiler-1/firmware", b"{}", "topic_outside_contract"),
    ("ondol/v1/bad.device/telemetry", b"{}", "topic_outside_contract"),
    ("ondol/v1/boiler-1/telemetry/extra", b"{}", "topic_outside_contract"),
    ("ondol/v1/stranger-9/telemetry", b'{"seq": 12, "ts": "TS"}', "unknown_device"),
    ("ondol/v1/" + "z" * 3000 + "/telemetry", b'{"seq": 13, "ts": "TS"}', "topic_outside_contract"),
    ("ondol/v1/boiler-1/telemetry", b'{"seq": 14, "ts": "TS", "gauge": NaN}', "invalid_payload"),
]


async def test_each_kind_of_bad_input_is_quarantined_with_its_reason_and_ingest_goes_on(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    await register(db, "boiler-1")
    sent = [
        (topic, payload.replace(b"TS", now_iso().encode()), reason) for topic, payload, reason in BAD_INPUTS
    ]
    pub = Publisher(broker)
    async with running_gateway(gateway_config(db_dsn, broker)) as metrics:
        for i, (topic, payload, _) in enumerate(sent):
            pub.publish(topic, payload)
            pub.publish("ondol/v1/boiler-1/telemetry", reading(100 + i, room_c=20.0))
        await eventually(
            lambda: db.fetchval("SELECT count(*) = $1 FROM quarantine", len(sent)),
            what="all bad input quarantined",
        )
        await eventually(
            lambda: db.fetchval("SELECT count(*) = $1 FROM readings", len(sent)),
            what="every good reading stored between the bad ones",
        )
        rows = await db.fetch("SELECT topic, reason, detail, payload, payload_size FROM quarantine")
    pub.close()
    stored = {(r["topic"], bytes(r["payload"])): r for r in rows}
    for topic, payload, reason in sent:
        row = stored.get((topic[:1024], payload))
        assert row is not None, f"{topic} {payload[:60]!r} is not in quarantine"
        assert row["reason"] == reason, f"{topic} {payload[:60]!r}: reason {row['reason']}, expected {reason}"
        assert row["detail"], "every quarantined message says why"
        assert row["payload_size"] == len(payload)
    assert sample(metrics, "ondol_gateway_quarantined_total", reason="oversized") == 1


async def _async(value: object) -> object:
    return value


async def test_two_gateways_share_the_subscription_and_store_each_message_once(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    await register(db, *(f"boiler-{i}" for i in range(10)))
    pub = Publisher(broker)
    first = gateway_config(db_dsn, broker, client_id="gateway-a")
    second = gateway_config(db_dsn, broker, client_id="gateway-b")
    async with running_gateway(first) as metrics_a, running_gateway(second) as metrics_b:
        for seq in range(1, 101):
            for i in range(10):
                pub.publish(f"ondol/v1/boiler-{i}/telemetry", reading(seq, room_c=20.0))
        await eventually(lambda: db.fetchval("SELECT count(*) = 1000 FROM readings"), what="1000 rows")
    pub.close()
    received = [sample(m, "ondol_gateway_received_total") for m in (metrics_a, metrics_b)]
    assert all(r > 0 for r in received), f"both gateways take a share of the load: {received}"
    assert sum(received) == 1000, "no message was handed to both"


async def test_metrics_endpoint_serves_the_counters(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    await register(db, "boiler-1")
    port = free_port()
    config = replace(gateway_config(db_dsn, broker), metrics_port=port)
    pub = Publisher(broker)
    async with running_gateway(config):
        pub.publish("ondol/v1/boiler-1/telemetry", reading(1, room_c=20.0))
        pub.publish("ondol/v1/boiler-1/telemetry", b"{oops")
        await eventually(lambda: db.fetchval("SELECT count(*) = 1 FROM quarantine"), what="quarantined")

        async def scraped() -> str | None:
            async with httpx.AsyncClient() as client:
                text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
            return text if "ondol_gateway_received_total 2.0" in text else None

        text = await eventually(scraped, what="counters updated after the commit")
    pub.close()
    assert "ondol_gateway_received_total 2.0" in text
    assert 'ondol_gateway_quarantined_total{reason="bad_json"} 1.0' in text
    assert 'ondol_gateway_written_total{kind="readings"} 1.0' in text
    assert "ondol_gateway_batch_seconds_bucket" in text


async def test_the_gateway_also_speaks_mqtt5(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    await register(db, "boiler-1")
    config = gateway_config(db_dsn, broker)
    config = replace(config, edge=replace(config.edge, mqtt5=True))
    pub = Publisher(broker)
    async with running_gateway(config) as metrics:
        for seq in range(1, 11):
            pub.publish("ondol/v1/boiler-1/telemetry", reading(seq, room_c=20.0))
        await eventually(lambda: db.fetchval("SELECT count(*) = 10 FROM readings"), what="10 rows")
        await eventually(lambda: _async(sample(metrics, "ondol_gateway_acked_total") == 10), what="10 acks")
    pub.close()
