"""Regions come from one list (telemetry/regions.toml: codes with Korean and English names): devices,
service points, tickets and every ?region= filter use its codes; a name in either language is
taken for its code, anything else is refused with the list."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import asyncpg
import pytest

from api.console.fleet_page import REGION_GRID
from diagnostics.service_points import load_seed, seed_service_points
from firmware_sim.fleet import REGIONS as SIM_REGIONS
from telemetry.readings import EventRow, IngestBatch, write_batch
from telemetry.regions import REGIONS, UnknownRegionError, region_code, region_name
from testbed.support import ApiClient, eventually, running_worker, seed_points

CODES = [r.code for r in REGIONS]


@pytest.mark.parametrize(
    ("written", "code"),
    [("seoul", "seoul"), ("서울", "seoul"), ("Seoul", "seoul"), (" SEOUL ", "seoul"), ("서울특별시", "seoul"),
     ("경북", "gyeongbuk"), ("Gyeongsangbuk-do", "gyeongbuk"), ("jeju", "jeju"), ("제주", "jeju")],
)  # fmt: skip
def test_a_region_is_known_by_its_code_or_its_names(written: str, code: str) -> None:
    assert region_code(written) == code


@pytest.mark.parametrize("written", ["atlantis", "", "seoul x", "서울시청", "%"])
def test_an_unknown_region_is_refused_with_the_list(written: str) -> None:
    with pytest.raises(UnknownRegionError) as caught:
        region_code(written)
    assert all(code in str(caught.value) for code in CODES)


def test_every_place_that_names_regions_uses_the_list() -> None:
    assert len(CODES) == 17
    assert set(REGION_GRID) == set(CODES), "the fleet page's tile map covers exactly the regions"
    assert {p.region for p in load_seed()} <= set(CODES)
    assert {r.code for r in SIM_REGIONS} <= set(CODES), "the simulator registers valid codes"
    assert region_name("seoul", "ko") == "서울"
    assert region_name("seoul", "en") == "Seoul"


async def test_the_stores_region_table_is_the_list(db: asyncpg.Connection) -> None:
    rows = await db.fetch("SELECT code, name_ko, name_en FROM regions ORDER BY code")
    assert [tuple(r) for r in rows] == sorted((r.code, r.name_ko, r.name_en) for r in REGIONS)
    await db.execute(
        "INSERT INTO devices (device_id, model, serial, region) VALUES ('d1', 'M', '1', 'seoul')"
    )
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await db.execute(
            "INSERT INTO devices (device_id, model, serial, region) VALUES ('d2', 'M', '2', '서울')"
        )


async def test_registration_stores_the_code_and_refuses_unknown_regions(db_dsn: str) -> None:
    async with ApiClient(db_dsn) as api:
        for i, written in enumerate(("서울", "Seoul", "seoul")):
            body = {"device_id": f"b{i}", "model": "NCB-300", "serial": f"S{i}", "region": written}
            created = await api.post("/v1/devices", json=body)
            assert created.status_code == 201, created.text
            assert created.json()["region"] == "seoul"
        refused = await api.post("/v1/devices", json={"device_id": "b9", "model": "M", "serial": "9",
                                                      "region": "atlantis"})  # fmt: skip
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        (error,) = refused.json()["errors"]
        assert error["loc"] == ["body", "region"]
        assert "atlantis" in error["msg"]
        assert all(code in error["msg"] for code in CODES)
        assert (await api.get("/v1/devices/b9")).status_code == 404

        for path in ("/v1/devices", "/v1/devices/search", "/v1/tickets"):
            by_name = await api.get(path, params={"region": "서울"})
            assert by_name.status_code == 200, (path, by_name.text)
            unknown = await api.get(path, params={"region": "atlantis"})
            assert unknown.status_code == 422, path
            assert unknown.json()["errors"][0]["loc"] == ["query", "region"]
            assert "seoul" in unknown.json()["errors"][0]["msg"]
        listed = (await api.get("/v1/devices", params={"region": "Seoul"})).json()["items"]
        assert [d["device_id"] for d in listed] == ["b0", "b1", "b2"]


async def test_a_gas_leak_on_a_device_registered_in_korean_shows_under_its_regions_filter(
    db: asyncpg.Connection, db_dsn: str
) -> None:
    """No coordinates: the ticket goes to the region's service point, and carries the region's code."""
    await seed_points(db)
    async with ApiClient(db_dsn) as api:
        body = {"device_id": "leak-1", "model": "NCB-300", "serial": "L1", "region": "서울"}
        assert (await api.post("/v1/devices", json=body)).status_code == 201
        now = datetime.now(UTC)
        async with running_worker(db_dsn):
            async with db.transaction():
                await write_batch(db, IngestBatch(events=[EventRow("leak-1", now, 1, now, "E014", True)]))
            await eventually(lambda: db.fetchval("SELECT ticket_id FROM tickets"), what="ticket")
        tickets = (await api.get("/v1/tickets", params={"region": "seoul"})).json()["items"]
    assert [(t["device_id"], t["code"], t["region"]) for t in tickets] == [("leak-1", "E014", "seoul")]
    point = await db.fetchval(
        "SELECT sp.region FROM tickets AS t JOIN service_points AS sp ON sp.point_id = t.service_point_id"
    )
    assert point == "seoul"


async def test_service_points_take_region_names_and_refuse_unknown_ones(db: asyncpg.Connection) -> None:
    seed = load_seed()[0]
    async with db.transaction():
        await seed_service_points(db, [replace(seed, region="Busan")])
    assert (
        await db.fetchval("SELECT region FROM service_points WHERE point_id = $1", seed.point_id) == "busan"
    )
    with pytest.raises(UnknownRegionError):
        async with db.transaction():
            await seed_service_points(db, [replace(seed, region="atlantis")])
