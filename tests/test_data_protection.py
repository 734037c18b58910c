"""A customer's data on request: export, erasure that leaves the boiler's telemetry, and the log of
who viewed or changed customer records (which names nobody)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import asyncpg
import pytest

from api.customer_records import customer_ref
from testbed.support import ApiClient, reading, register_full, store

OWNER = "01077776666"


async def test_export_then_erase_a_customer_keeping_the_boilers_telemetry(
    db: asyncpg.Connection, db_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await register_full(db, "boiler-9", latitude=37.5, longitude=127.0, region="seoul", installed_on=None)
    await db.execute("UPDATE device_contacts SET phone = $1 WHERE role = 'owner'", "+821077776666")
    await db.execute(
        "INSERT INTO customer_alerts (device_id, phone, channel, kind, code, message_ko, message_en)"
        " VALUES ('boiler-9', $1, 'sms', 'guidance', 'E003', '김 고객님', 'Dear Kim')", OWNER,
    )  # fmt: skip
    await store(db, reading("boiler-9", datetime.now(UTC), 1, ch_pressure_bar=1.2))
    async with ApiClient(db_dsn, role="customer", scope={"customer_phone": OWNER}) as me:
        mine = await me.get(f"/v1/customers/{OWNER}/export")
        assert mine.status_code == 200
        body = mine.json()
        assert [d["device_id"] for d in body["devices"]] == ["boiler-9"]
        assert body["devices"][0]["role"] == "owner"
        assert [a["message_en"] for a in body["alerts"]] == ["Dear Kim"]
        assert (await me.get("/v1/customers/010-1234-0000/export")).status_code == 404, "only their own"
        assert (await me.delete(f"/v1/customers/{OWNER}")).status_code == 403, (
            "erasure goes through the call center"
        )
    async with ApiClient(db_dsn, role="agent") as agent:
        assert (await agent.get("/v1/devices/boiler-9")).status_code == 200
    async with ApiClient(db_dsn, role="admin") as admin:
        erased = await admin.delete("/v1/customers/+82 10-7777-6666")
        assert erased.status_code == 200, erased.text
        assert erased.json()["devices"] == ["boiler-9"]
        assert erased.json()["contacts"] == 1
        assert (await admin.delete(f"/v1/customers/{OWNER}")).status_code == 404, "nothing left to erase"
        log = (await admin.get("/v1/access-log", params={"device_id": "boiler-9"})).json()["items"]
        by_customer = (await admin.get("/v1/access-log", params={"phone": OWNER})).json()["items"]
    assert not await db.fetchval("SELECT count(*) FROM device_contacts WHERE phone_national = $1", OWNER)
    device = await db.fetchrow("SELECT customer_name, address FROM devices WHERE device_id = 'boiler-9'")
    assert (device["customer_name"], device["address"]) == (None, None), "the owner's name and address go"
    alert = await db.fetchrow("SELECT phone, message_ko FROM customer_alerts")
    assert (alert["phone"], alert["message_ko"]) == ("erased", "")
    assert await db.fetchval("SELECT count(*) FROM readings WHERE device_id = 'boiler-9'") == 1, (
        "telemetry stays"
    )
    assert not await db.fetchval("SELECT count(*) FROM api_keys WHERE customer_phone = $1", OWNER)
    actions = {(e["action"], e["subject"], e["actor"].split(":")[0]) for e in log}
    assert {
        ("view", "device", "agent"),
        ("export", "customer", "customer"),
        ("erase", "customer", "admin"),
    } <= actions
    assert {e["action"] for e in by_customer} == {"export", "erase"}
    assert by_customer[0]["customer_ref"] == customer_ref(OWNER)
    stored = await db.fetch("SELECT * FROM record_access_log")
    assert not any(OWNER in str(v) for r in stored for v in r.values()), "the log names nobody"
    # Every record but the test's own HTTP client (httpx logs the URLs it requests, phone included).
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    for personal in (OWNER, "7777-6666", "김 고객님", "Dear Kim"):
        assert personal not in logged, f"{personal!r} appeared in a log line"
