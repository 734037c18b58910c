"""The HTTP API against a real database: device status rules, filters and pages, registration,
bucketed telemetry from raw readings and from the hourly rollup, the quarantine, and errors that are
always RFC 9457 problem documents."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.decoder import DecodeLimits, decode
from gateway.mqtt_edge import RawMessage
from ondol.local_servers import free_port
from telemetry.device_registry import ContactRecord, DeviceRecord, register_devices
from telemetry.readings import IngestBatch, QuarantineRow, write_batch
from telemetry.rollups import refresh_hourly
from testbed.support import ApiClient, floor_hour, reading, store

HOUR = timedelta(hours=1)
PROBLEM = "application/problem+json"


@pytest.fixture
async def client(db_dsn: str) -> AsyncIterator[httpx.AsyncClient]:
    async with ApiClient(db_dsn) as c:
        yield c


def device(device_id: str, *, region: str = "seoul", interval: int = 60) -> DeviceRecord:
    return DeviceRecord(
        device_id, "NCB-300", f"SN-{device_id}", None, None, region, None, None, None, interval
    )


async def register(db: asyncpg.Connection, *records: DeviceRecord) -> None:
    async with db.transaction():
        await register_devices(db, devices=records)


async def seen(
    db: asyncpg.Connection, device_id: str, ago: timedelta, *, connected: bool | None = None
) -> None:
    await db.execute(
        "INSERT INTO device_state (device_id, last_seen, connected) VALUES ($1, now() - $2::interval, $3)",
        device_id, ago, connected,
    )  # fmt: skip


async def fault(db: asyncpg.Connection, device_id: str, code: str, *, active: bool = True) -> None:
    await db.execute(
        "INSERT INTO device_faults (device_id, code, active, raised_at, changed_at, seq) VALUES ($1, $2, $3, now(), now(), 1)",
        device_id, code, active,
    )  # fmt: skip


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "instance"} <= body.keys()
    assert body["instance"] == response.request.url.path
    return body


# --- health -------------------------------------------------------------------------------------


async def test_health_reports_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_an_unreachable_database_answers_503_problems() -> None:
    async with ApiClient(f"postgresql://nobody:x@127.0.0.1:{free_port()}/none", role=None) as down:
        health = await down.get("/healthz")
        devices = await down.get("/v1/devices")
    assert_problem(health, 503)
    assert assert_problem(devices, 503)["type"].endswith("database-unavailable")
    assert devices.headers["retry-after"]


# --- devices ------------------------------------------------------------------------------------


async def test_status_follows_last_seen_connection_and_active_faults(
    db: asyncpg.Connection, client: httpx.AsyncClient
) -> None:
    await register(
        db,
        device("never"),  # registered, never heard from
        device("fresh"),  # heard 10 s ago, no birth message
        device("stale"),  # heard 4 min ago, reports every minute: 3 intervals passed
        device("slow", interval=120),  # heard 4 min ago, reports every 2 min: still within 3 intervals
        device("gone"),  # heard 10 s ago, but its last will says disconnected
        device("faulty"),  # heard recently with an active fault
        device("faulty-away"),  # active fault, but offline: offline wins
    )
    await seen(db, "fresh", timedelta(seconds=10))
    await seen(db, "stale", timedelta(minutes=4))
    await seen(db, "slow", timedelta(minutes=4))
    await seen(db, "gone", timedelta(seconds=10), connected=False)
    await seen(db, "faulty", timedelta(seconds=10), connected=True)
    await seen(db, "faulty-away", timedelta(minutes=10))
    await fault(db, "faulty", "E016")
    await fault(db, "faulty", "E003")
    await fault(db, "faulty", "E001", active=False)
    await fault(db, "faulty-away", "E003")

    async def ids(status: str) -> list[str]:
        response = await client.get("/v1/devices", params={"status": status})
        assert response.status_code == 200, response.text
        return [d["device_id"] for d in response.json()["items"]]

    assert await ids("online") == ["fresh", "slow"]
    assert await ids("offline") == ["faulty-away", "gone", "never", "stale"]
    assert await ids("fault") == ["faulty"]
    detail = (await client.get("/v1/devices/faulty")).json()
    assert detail["status"] == "fault"
    assert detail["online"] is True
    assert detail["active_codes"] == ["E003", "E016"], "active codes only, sorted"
    away = (await client.get("/v1/devices/faulty-away")).json()
    assert away["status"] == "offline"
    assert away["online"] is False
    assert away["active_codes"] == ["E003"]


async def test_device_list_pages_by_cursor_and_filters_by_region(
    db: asyncpg.Connection, client: httpx.AsyncClient
) -> None:
    await register(db, *(device(f"d{i}", region="busan" if i % 2 else "seoul") for i in range(7)))

    pages: list[list[str]] = []
    params: dict[str, Any] = {"region": "seoul", "limit": 2}
    while True:
        body = (await client.get("/v1/devices", params=params)).json()
        pages.append([d["device_id"] for d in body["items"]])
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]

    assert pages == [["d0", "d2"], ["d4", "d6"]]
    everything = (await client.get("/v1/devices", params={"limit": 500})).json()
    assert [d["device_id"] for d in everything["items"]] == [f"d{i}" for i in range(7)]
    assert everything["next_cursor"] is None


async def test_device_list_rejects_bad_parameters_with_problems(client: httpx.AsyncClient) -> None:
    bad_status = assert_problem(await client.get("/v1/devices", params={"status": "sleeping"}), 422)
    assert bad_status["errors"][0]["loc"] == ["query", "status"]
    assert_problem(await client.get("/v1/devices", params={"limit": 0}), 422)
    assert_problem(await client.get("/v1/devices", params={"limit": 501}), 422)
    assert_problem(await client.get("/v1/devices", params={"cursor": "not-a-cursor"}), 400)


async def test_device_detail_shows_registry_state_and_latest_values(
    db: asyncpg.Connection, client: httpx.AsyncClient
) -> None:
    record = DeviceRecord(
        "boiler-7", "NCB-500", "SN-7", None, "Jongno-gu 1", "seoul", 37.57, 126.98, "Kim", 60,
        (ContactRecord("Kim", "+821012345678", "owner", "kakao"),),
    )  # fmt: skip
    await register(db, record)
    ts = datetime.now(UTC) - timedelta(seconds=5)
    await store(db, reading("boiler-7", ts, 42, room_c=21.5, ch_pressure_bar=1.4))

    body = (await client.get("/v1/devices/boiler-7")).json()

    assert body["model"] == "NCB-500"
    assert body["latitude"] == 37.57
    assert body["customer_name"] == "Kim"
    assert [{k: c[k] for k in ("name", "phone", "role", "preferred_channel", "language", "quiet_start")}
            for c in body["contacts"]] == [
        {"name": "Kim", "phone": "+821012345678", "role": "owner", "preferred_channel": "kakao",
         "language": "ko", "quiet_start": "21:00"}
    ]  # fmt: skip
    assert body["status"] == "online"
    assert body["latest"]["room_c"] == 21.5
    assert body["latest"]["seq"] == 42
    assert datetime.fromisoformat(body["last_reading_at"]) == ts


async def test_unknown_or_malformed_device_ids_are_problems(client: httpx.AsyncClient) -> None:
    missing = assert_problem(await client.get("/v1/devices/nobody"), 404)
    assert missing["type"].endswith("device-not-found")
    assert "nobody" in missing["detail"]
    assert_problem(await client.get("/v1/devices/bad.id"), 422)
    assert_problem(await client.get("/v1/devices/nobody/telemetry"), 404)
    assert_problem(await client.get("/v1/no-such-route"), 404)


async def test_register_creates_then_updates_a_device(client: httpx.AsyncClient) -> None:
    new = {
        "device_id": "boiler-9", "model": "NCB-300", "serial": "SN-9", "region": "daegu",
        "report_interval_s": 30,
        "contacts": [{"name": "Lee", "phone": "01099998888", "role": "family"}],
    }  # fmt: skip
    created = await client.post("/v1/devices", json=new)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/devices/boiler-9"
    assert created.json()["status"] == "offline"
    assert created.json()["contacts"][0]["preferred_channel"] == "sms"

    updated = await client.post("/v1/devices", json={**new, "region": "ulsan", "contacts": []})
    assert updated.status_code == 200, "an update is not a creation"
    assert updated.json()["region"] == "ulsan"
    assert len(updated.json()["contacts"]) == 1, "an empty contact list keeps the stored contacts"


async def test_register_rejects_invalid_and_conflicting_devices(client: httpx.AsyncClient) -> None:
    base = {"device_id": "boiler-1", "model": "NCB-300", "serial": "SN-1"}
    assert (await client.post("/v1/devices", json=base)).status_code == 201
    conflict = assert_problem(await client.post("/v1/devices", json={**base, "device_id": "boiler-2"}), 409)
    assert conflict["type"].endswith("device-conflict")
    bad_phone = {**base, "contacts": [{"name": "A", "phone": "call me", "role": "owner"}]}
    invalid = assert_problem(await client.post("/v1/devices", json=bad_phone), 422)
    assert invalid["errors"][0]["loc"][:2] == ["body", "contacts"]
    assert_problem(await client.post("/v1/devices", json={**base, "device_id": "no spaces"}), 422)


async def test_registration_stores_phone_numbers_in_e164_however_they_are_written(
    client: httpx.AsyncClient,
) -> None:
    body = {"device_id": "boiler-5", "model": "NCB-300", "serial": "SN-5", "contacts": [
        {"name": "Kim", "phone": "010-2222-3333", "role": "owner"},
        {"name": "Lee", "phone": "+82 (0)10 4444 5555", "role": "family"},
    ]}  # fmt: skip
    created = await client.post("/v1/devices", json=body)
    assert created.status_code == 201, created.text
    assert [c["phone"] for c in created.json()["contacts"]] == ["+821022223333", "+821044445555"]
    found = (await client.get("/v1/devices/search", params={"phone": "01022223333"})).json()["items"]
    assert [d["device_id"] for d in found] == ["boiler-5"]
    not_a_number = assert_problem(await client.get("/v1/devices/search", params={"phone": "1588-1234"}), 422)
    assert not_a_number["errors"][0]["loc"] == ["query", "phone"]


async def test_one_number_written_two_ways_on_one_device_is_refused(
    db: asyncpg.Connection, client: httpx.AsyncClient
) -> None:
    """The same person would get every alert twice (alerts are written per contact row)."""
    body = {"device_id": "boiler-6", "model": "NCB-300", "serial": "SN-6", "contacts": [
        {"name": "Kim", "phone": "01011112222", "role": "owner"},
        {"name": "Kim again", "phone": "+821011112222", "role": "family"},
    ]}  # fmt: skip
    refused = assert_problem(await client.post("/v1/devices", json=body), 422)
    assert refused["errors"][0]["loc"] == ["body", "contacts", 1, "phone"]
    assert "+821011112222" in refused["errors"][0]["msg"]
    assert await db.fetchval("SELECT count(*) FROM devices") == 0, "nothing of the registration is stored"
    with pytest.raises(ValueError, match="phone number"):
        await register(db, DeviceRecord("boiler-6", "NCB-300", "SN-6", None, None, None, None, None, None, 60,
                                        (ContactRecord("Kim", "01011112222", "owner"),
                                         ContactRecord("Kim", "+82 10 1111 2222", "family"))))  # fmt: skip


# --- telemetry ----------------------------------------------------------------------------------


async def test_raw_buckets_average_each_field_and_leave_out_missing_ones(
    db: asyncpg.Connection, client: httpx.AsyncClient
) -> None:
    await register(db, device("b1"))
    t0 = floor_hour(datetime.now(UTC)) - 2 * HOUR
    await store(
        db,
        reading("b1", t0 + timedelta(minutes=1), 1, room_c=20.0, ch_flow_c=60.0),
        reading("b1", t0 + timedelta(minutes=3), 2, room_c=22.0),
        reading("b1", t0 + timedelta(minutes=7), 3, room_c=25.0),
        reading("b1", t0 + timedelta(minutes=20), 4, ch_flow_c=70.0),  # outside the range asked for
    )
    response = await client.get(
        "/v1/devices/b1/telemetry",
        params={"from": t0.isoformat(), "to": (t0 + timedelta(minutes=15)).isoformat(), "bucket": "5m"},
    )
    assert response.status_code == 200, response.text
    body = response.json()

    assert body["source"] == "raw"
    assert body["bucket_seconds"] == 300
    assert body["device_id"] == "b1"
    assert datetime.fromisoformat(body["from"]) == t0
    first, second = body["buckets"]
    assert datetime.fromisoformat(first["start"]) == t0
    assert first["n"] == 2
    assert first["fields"] == {"ch_flow_c": {"avg": 60.0, "min": 60.0, "max": 60.0},
                               "room_c": {"avg": 21.0, "min": 20.0, "max": 22.0}}  # fmt: skip
    assert second["n"] == 1
    assert second["fields"] == {"room_c": {"avg": 25.0, "min": 25.0, "max": 25.0}}

    only = (await client.get(
        "/v1/devices/b1/telemetry", params={"from": t0.isoformat(), "bucket": "1h", "fields": "ch_flow_c"}
    )).json()  # fmt: skip
    assert only["buckets"][0]["fields"] == {"ch_flow_c": {"avg": 65.0, "min": 60.0, "max": 70.0}}


async def test_hours_before_the_watermark_come_from_the_rollup_and_merge_with_raw(
    db: asyncpg.Connection, client: httpx.AsyncClient
) -> None:
    await register(db, device("b1"))
    # Hours a, b, c from t0, which starts a 3-hour bucket (time_bucket aligns them to UTC hours 0, 3, ...).
    t0 = floor_hour(datetime.now(UTC)) - 12 * HOUR
    t0 -= timedelta(hours=t0.hour % 3)
    a = [reading("b1", t0 + timedelta(minutes=10 * i), i, room_c=20.0 + i) for i in range(6)]  # 20..25
    b = [
        reading("b1", t0 + HOUR + timedelta(minutes=10 * i), 10 + i, room_c=26.0 + i) for i in range(2)
    ]  # 26, 27
    c = [
        reading("b1", t0 + 2 * HOUR + timedelta(minutes=10 * i), 20 + i, room_c=30.0 + i) for i in range(3)
    ]  # 30..32
    await store(db, *a, *b, *c)
    async with db.transaction():
        result = await refresh_hourly(db, now=t0 + 2 * HOUR + timedelta(minutes=5))
    assert result.watermark == t0 + 2 * HOUR
    # Raw rows of the rolled-up hours are gone: only the rollup still knows them.
    await db.execute("DELETE FROM readings WHERE ts < $1", t0 + 2 * HOUR)

    async def get(start: datetime, bucket: str) -> dict[str, Any]:
        params = {"from": start.isoformat(), "to": (t0 + 3 * HOUR).isoformat(), "bucket": bucket}
        response = await client.get("/v1/devices/b1/telemetry", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    hourly = await get(t0, "1h")
    assert hourly["source"] == "rollup+raw"
    assert [(bucket["n"], bucket["fields"]["room_c"]) for bucket in hourly["buckets"]] == [
        (6, {"avg": 22.5, "min": 20.0, "max": 25.0}),
        (2, {"avg": 26.5, "min": 26.0, "max": 27.0}),
        (3, {"avg": 31.0, "min": 30.0, "max": 32.0}),
    ]
    (straddling,) = (await get(t0, "3h"))["buckets"]
    assert straddling["n"] == 11
    assert straddling["fields"]["room_c"]["min"] == 20.0
    assert straddling["fields"]["room_c"]["max"] == 32.0
    assert straddling["fields"]["room_c"]["avg"] == pytest.approx(
        (sum(range(20, 28)) + sum(range(30, 33))) / 11
    )
    raw_only = await get(t0, "30m")
    assert raw_only["source"] == "raw"
    assert sum(bucket["n"] for bucket in raw_only["buckets"]) == 3
    # A range starting mid-hour reads that partial hour raw (its raw rows are gone), not from the rollup.
    (partial,) = (await get(t0 + timedelta(minutes=30), "3h"))["buckets"]
    assert partial["n"] == 2 + 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bucket": "5x"}, "bucket"),
        ({"bucket": "30s"}, "bucket"),
        ({"bucket": "8d"}, "bucket"),
        ({"bucket": "0m"}, "bucket"),
        ({"from": "2025-01-02T00:00:00+00:00", "to": "2025-01-01T00:00:00+00:00"}, "from"),
        ({"from": "2025-01-01T00:00:00+00:00", "to": "2025-01-01T00:00:00+00:00"}, "from"),
        ({"from": "2025-01-01T00:00:00+00:00", "to": "2025-02-01T00:00:00+00:00", "bucket": "1m"}, "bucket"),
        ({"from": "2025-01-01T00:00:00", "to": "2025-01-02T00:00:00+00:00"}, "from"),
        ({"fields": "room_c,mode"}, "fields"),
    ],
)
async def test_bad_telemetry_parameters_are_422_problems(
    db: asyncpg.Connection, client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    await register(db, device("b1"))
    body = assert_problem(await client.get("/v1/devices/b1/telemetry", params=params), 422)
    assert [e["loc"] for e in body["errors"]] == [["query", field]]


# --- quarantine ---------------------------------------------------------------------------------


async def test_quarantine_lists_newest_first_with_filters_pages_and_previews(
    db: asyncpg.Connection, client: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC)
    big = b"\xff\xfe" + b"x" * 2000
    rows = [
        QuarantineRow("ondol/v1/b1/telemetry", "b1", "bad_json", "not JSON", b"{oops", now),
        QuarantineRow("ondol/v1/b2/telemetry", "b2", "oversized", "too big", big, now),
        QuarantineRow("ondol/v1/b1/events", "b1", "invalid_payload", "state", b'{"state":"maybe"}', now),
    ]
    for row in rows:  # one batch each, so ids follow this order
        async with db.transaction():
            await write_batch(db, IngestBatch(quarantined=[row]))

    first = (await client.get("/v1/quarantine", params={"limit": 2})).json()
    rest = (await client.get("/v1/quarantine", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    b1 = (await client.get("/v1/quarantine", params={"device_id": "b1"})).json()
    oversized = (await client.get("/v1/quarantine", params={"reason": "oversized"})).json()

    assert [i["reason"] for i in first["items"]] == ["invalid_payload", "oversized"]
    assert [i["reason"] for i in rest["items"]] == ["bad_json"]
    assert rest["next_cursor"] is None
    assert [i["reason"] for i in b1["items"]] == ["invalid_payload", "bad_json"]
    (item,) = oversized["items"]
    assert item["payload_size"] == len(big)
    assert item["occurrences"] == 1
    assert item["payload_preview"] == "\ufffd\ufffd" + "x" * 510, "512 bytes, undecodable ones replaced"
    assert_problem(await client.get("/v1/quarantine", params={"cursor": "bm9wZQ"}), 400)


async def test_quarantine_says_what_was_wrong_and_filters_only_by_known_reasons(
    db: asyncpg.Connection, client: httpx.AsyncClient
) -> None:
    ts = datetime.now(UTC).isoformat().encode()
    for payload in (
        b'{"seq": 1, "ts": "' + ts + b'", "mode": "\xff"}',
        b'{"seq": 2, "ts": "' + ts + b'", "room_c": NaN}',
    ):
        decoded = decode(RawMessage("ondol/v1/b1/telemetry", payload, 1, False, False, 1, 1, 1, time.time()),
                         DecodeLimits())  # fmt: skip
        assert isinstance(decoded, QuarantineRow)
        async with db.transaction():
            await write_batch(db, IngestBatch(quarantined=[decoded]))
    listed = {i["reason"]: i["detail"] for i in (await client.get("/v1/quarantine")).json()["items"]}
    assert listed.keys() == {"not_utf8", "invalid_payload"}
    assert "not UTF-8" in listed["not_utf8"]
    assert "JSON" not in listed["not_utf8"]
    assert listed["invalid_payload"] == "room_c: NaN is not a number"
    unknown = assert_problem(await client.get("/v1/quarantine", params={"reason": "bad-json"}), 422)
    assert unknown["errors"][0]["loc"] == ["query", "reason"]
    assert "bad_json" in unknown["errors"][0]["msg"]
    assert "not_utf8" in unknown["errors"][0]["msg"]


async def test_openapi_is_served(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert {"/healthz", "/v1/devices", "/v1/devices/{device_id}/telemetry", "/v1/quarantine"} <= schema[
        "paths"
    ].keys()
    assert (await client.get("/docs")).status_code == 200


async def test_nul_characters_and_absurd_dates_are_422_problems_not_500(client: httpx.AsyncClient) -> None:
    nul_body = await client.post(
        "/v1/devices", json={"device_id": "nul-1", "model": "M", "serial": "S", "address": "a\u0000b"}
    )
    assert_problem(nul_body, 422)
    nul_query = await client.get("/v1/devices", params={"region": "seo\x00ul"})
    assert_problem(nul_query, 422)
    ancient = await client.get("/v1/devices/any-device/telemetry", params={"to": "0001-01-01T00:00:00Z"})
    assert_problem(ancient, 422)


async def test_many_device_reads_at_once_never_wait_for_a_second_connection(
    db_dsn: str, db: asyncpg.Connection
) -> None:
    """A device's detail reads (read routing) and writes its access log (the primary). With no replica
    both are the request's one primary connection: 40 requests at once on a pool of 2 all answer. (When
    they took two connections from the same pool, a full pool of requests each waiting for its second
    one hung the API: found by bench/replica_reads.py.)"""
    async with db.transaction():
        await register_devices(
            db, devices=[DeviceRecord("many-1", "NCB-300", "SN-many-1", None, None, None, None, None, None)]
        )
    async with ApiClient(db_dsn, role="admin") as admin:  # its pool holds 2 connections
        answers = await asyncio.wait_for(
            asyncio.gather(*(admin.get("/v1/devices/many-1") for _ in range(40))), timeout=30
        )
    assert [a.status_code for a in answers] == [200] * 40
