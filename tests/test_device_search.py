"""An agent finds the caller's device from what the caller says: a phone number written any way,
part of a name or an address, the start of a device id; criteria combine; wildcards are literal."""

from __future__ import annotations

import asyncpg
import pytest

from telemetry.device_registry import ContactRecord, DeviceRecord, register_devices
from testbed.support import ApiClient


def record(device_id: str, customer: str, address: str, *contacts: tuple[str, str], model: str = "NCB-300",
           region: str = "seoul") -> DeviceRecord:  # fmt: skip
    people = tuple(
        ContactRecord(name, phone, "owner" if i == 0 else "family", "sms")
        for i, (name, phone) in enumerate(contacts)
    )
    return DeviceRecord(
        device_id, model, f"SN-{device_id}", None, address, region, None, None, customer, 60, people
    )


@pytest.fixture
async def fleet(db: asyncpg.Connection) -> None:
    records = [
        record(
            "ncb-0001",
            "김영희",
            "서울 강남구 역삼동 123-4",
            ("김영희", "+821012345678"),
            ("박민수", "01098765432"),
        ),
        record("ncb-0002", "김영수", "서울 종로구 청운동 5", ("김영수", "01055556666"), model="NCB-500"),
        record(
            "ncb-0003", "Lee 100%_Real", "부산 해운대구 우동 77", ("Lee", "+821022223333"), region="busan"
        ),
        record("kd-0001", "최지우", "서울 강남구 삼성동 9", ("최지우", "0212345678")),
    ]
    async with db.transaction():
        await register_devices(db, devices=records)


async def found(db_dsn: str, **params: str) -> list[str]:
    async with ApiClient(db_dsn) as client:
        response = await client.get("/v1/devices/search", params=params)
    assert response.status_code == 200, response.text
    return [d["device_id"] for d in response.json()["items"]]


@pytest.mark.usefixtures("fleet")
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"phone": "010-1234-5678"}, ["ncb-0001"]),  # stored as +821012345678
        (
            {"phone": "+82 10-9876-5432"},
            ["ncb-0001"],
        ),  # the family contact's number finds the parent's boiler
        ({"phone": "01022223333"}, ["ncb-0003"]),
        ({"phone": "02-1234-5678"}, ["kd-0001"]),  # a landline
        ({"phone": "01000000000"}, []),
        ({"name": "김영"}, ["ncb-0001", "ncb-0002"]),
        ({"name": "박민"}, ["ncb-0001"]),  # a contact's name
        ({"name": "김영", "model": "NCB-500"}, ["ncb-0002"]),  # criteria combine
        ({"address": "강남구"}, ["kd-0001", "ncb-0001"]),
        ({"address": "강남구", "device_id": "ncb"}, ["ncb-0001"]),
        ({"region": "busan"}, ["ncb-0003"]),
        ({"name": "100%_"}, ["ncb-0003"]),  # % and _ are literal
        ({"name": "0%"}, ["ncb-0003"]),
        ({"name": "%%"}, []),
        ({"device_id": "kd-"}, ["kd-0001"]),
    ],
)
async def test_search_finds_the_callers_device(
    db_dsn: str, params: dict[str, str], expected: list[str]
) -> None:
    assert await found(db_dsn, **params) == expected


async def test_a_search_without_criteria_or_with_bad_ones_is_refused(db_dsn: str) -> None:
    async with ApiClient(db_dsn) as client:
        for params in ({}, {"phone": "call me"}, {"name": "x"}, {"status": "sleeping"}, {"limit": "51"}):
            response = await client.get("/v1/devices/search", params=params)
            assert response.status_code == 422, (params, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_broad_search_says_it_was_cut_short(db: asyncpg.Connection, db_dsn: str) -> None:
    async with db.transaction():
        await register_devices(db, devices=[record(f"ncb-{i:04d}", "김철수", "서울") for i in range(30)])
    async with ApiClient(db_dsn) as client:
        body = (await client.get("/v1/devices/search", params={"name": "철수", "limit": "10"})).json()
    assert [d["device_id"] for d in body["items"]] == [f"ncb-{i:04d}" for i in range(10)]
    assert body["truncated"] is True


async def test_a_phone_search_uses_the_phone_index(db: asyncpg.Connection) -> None:
    await db.execute("SET enable_seqscan = off")  # an empty table: make the planner show what it could use
    plan = "\n".join(
        r[0]
        for r in await db.fetch(
            "EXPLAIN SELECT 1 FROM device_contacts WHERE phone_national = national_phone('010-1234-5678')"
        )
    )
    assert "device_contacts_phone_national" in plan
