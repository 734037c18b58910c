"""Service points' English names (migration 0018): a registry seeded before the column existed gets
the seed's English names for its own points, and only for them; an English name holds no Hangul."""

from __future__ import annotations

import asyncpg
import pytest

from diagnostics.service_points import ServicePointDirectory, load_seed, seed_if_empty


async def test_english_names_fill_in_only_for_the_seeds_own_points(db: asyncpg.Connection) -> None:
    seed = {p.point_id: p for p in load_seed()}
    assert all(p.name_en and p.name_en.endswith("Service Centre") for p in seed.values())
    rows = [("SP-001", seed["SP-001"].name), ("SP-002", "강동 제2 서비스센터"), ("SP-900", "울릉 임시 센터")]
    await db.executemany(
        "INSERT INTO service_points (point_id, name, city, region, latitude, longitude, coverage_km, daily_capacity)"
        " VALUES ($1, $2, '서울특별시', 'seoul', 37.5, 127.0, 10, 30)",
        rows,
    )
    assert await seed_if_empty(db) == 0  # points exist: nothing is seeded over them
    names = dict(await db.fetch("SELECT point_id, name_en FROM service_points ORDER BY point_id"))
    assert names == {"SP-001": seed["SP-001"].name_en, "SP-002": None, "SP-900": None}
    directory = await ServicePointDirectory.load(db)
    by_id = {p.point_id: p for p in directory.points}
    assert by_id["SP-001"].name_in("en") == "Seoul Gangnam Service Centre"
    assert by_id["SP-002"].name_in("en") is None  # renamed since: not guessed
    assert by_id["SP-002"].name_in("ko") == "강동 제2 서비스센터"
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("UPDATE service_points SET name_en = '서울 강남' WHERE point_id = 'SP-002'")
