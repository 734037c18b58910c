"""The Apache-edition maintenance job: the hourly rollup refresh (watermark, day-sized statements, late
data through invalidations, one worker at a time) and retention by whole chunks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from telemetry.device_registry import DeviceRecord, register_devices
from telemetry.readings import IngestBatch, QuarantineRow, write_batch
from telemetry.rollups import RefreshResult, apply_retention, refresh_hourly
from testbed.support import floor_hour, reading, store

HOUR = timedelta(hours=1)


async def register(db: asyncpg.Connection, *device_ids: str) -> None:
    records = [
        DeviceRecord(d, "NCB-300", f"SN-{d}", None, None, "seoul", None, None, None) for d in device_ids
    ]
    async with db.transaction():
        await register_devices(db, devices=records)


async def refresh(db: asyncpg.Connection, now: datetime) -> RefreshResult:
    async with db.transaction():
        return await refresh_hourly(db, now=now)


async def hourly(db: asyncpg.Connection) -> dict[datetime, tuple[int, float | None, int]]:
    rows = await db.fetch("SELECT bucket, n, room_c_sum, room_c_cnt FROM readings_hourly ORDER BY bucket")
    return {r["bucket"]: (r["n"], r["room_c_sum"], r["room_c_cnt"]) for r in rows}


async def watermark(db: asyncpg.Connection) -> str:
    return str(
        await db.fetchval("SELECT watermark::text FROM rollup_watermark WHERE rollup = 'readings_hourly'")
    )


async def test_refresh_with_no_readings_leaves_the_watermark_unset(db: asyncpg.Connection) -> None:
    result = await refresh(db, datetime.now(UTC))
    assert not result.skipped
    assert result.watermark is None
    assert result.statements == 0
    assert await watermark(db) == "-infinity"


async def test_first_refresh_covers_history_in_day_sized_statements_up_to_the_current_hour(
    db: asyncpg.Connection,
) -> None:
    await register(db, "b1")
    now = floor_hour(datetime.now(UTC)) + timedelta(minutes=20)
    start = floor_hour(now) - timedelta(days=3)
    rows = [reading("b1", start + i * HOUR + timedelta(minutes=5), i, room_c=20.0 + i % 3) for i in range(72)]
    current_hour = reading("b1", floor_hour(now) + timedelta(minutes=1), 1000, room_c=99.0)
    await store(db, *rows, current_hour)

    result = await refresh(db, now)

    assert result.watermark == floor_hour(now)
    assert result.hours_from == start
    assert result.statements == 3, "three days of history, one day per statement"
    assert result.hourly_rows == 72
    table = await hourly(db)
    assert len(table) == 72
    assert floor_hour(now) not in table, "the current hour is not complete yet"
    assert table[start] == (1, 20.0, 1)


async def test_refresh_is_idempotent(db: asyncpg.Connection) -> None:
    await register(db, "b1")
    now = floor_hour(datetime.now(UTC)) + timedelta(minutes=10)
    await store(
        db,
        *(
            reading("b1", now - timedelta(hours=5) + i * timedelta(minutes=10), i, room_c=float(i))
            for i in range(24)
        ),
    )
    first = await refresh(db, now)
    before = await hourly(db)

    again = await refresh(db, now)

    assert first.hourly_rows > 0
    assert again.statements == 0
    assert again.hourly_rows == 0
    assert again.watermark == first.watermark
    assert await hourly(db) == before


async def test_late_readings_are_picked_up_through_invalidations(db: asyncpg.Connection) -> None:
    await register(db, "b1")
    now = floor_hour(datetime.now(UTC)) + timedelta(minutes=10)
    hour = floor_hour(now) - 3 * HOUR
    await store(db, reading("b1", hour + timedelta(minutes=1), 1, room_c=20.0))
    await refresh(db, now)
    assert (await hourly(db))[hour] == (1, 20.0, 1)

    # Received now, stamped three hours ago: the ingest path itself records the invalidation.
    late = reading("b1", hour + timedelta(minutes=30), 2, room_c=22.0)._replace(received_at=datetime.now(UTC))
    await store(db, late)
    assert await db.fetchval("SELECT count(*) FROM rollup_invalidation") == 1

    result = await refresh(db, now + timedelta(minutes=1))

    assert result.invalidations_cleared == 1
    assert result.hours_from == hour
    assert (await hourly(db))[hour] == (2, 42.0, 2)
    assert await db.fetchval("SELECT count(*) FROM rollup_invalidation") == 0


async def test_a_second_worker_skips_while_one_refreshes(db: asyncpg.Connection, db_dsn: str) -> None:
    other = await asyncpg.connect(db_dsn)
    try:
        now = datetime.now(UTC)
        async with db.transaction():
            await refresh_hourly(db, now=now)
            async with other.transaction():
                skipped = await refresh_hourly(other, now=now)
        async with other.transaction():
            after = await refresh_hourly(other, now=now)
    finally:
        await other.close()
    assert skipped.skipped
    assert not after.skipped


async def test_refresh_outside_a_transaction_is_refused(db: asyncpg.Connection) -> None:
    with pytest.raises(RuntimeError, match="inside a transaction"):
        await refresh_hourly(db, now=datetime.now(UTC))


async def test_retention_drops_old_chunks_and_keeps_recent_data_and_the_rollup(
    db: asyncpg.Connection,
) -> None:
    await register(db, "b1")
    now = datetime.now(UTC)
    old = now - timedelta(days=100)
    await store(
        db, reading("b1", old, 1, room_c=18.0), reading("b1", now - timedelta(hours=2), 2, room_c=21.0)
    )
    await db.execute(
        "INSERT INTO events (device_id, ts, seq, received_at, code, state) VALUES ('b1', $1, 1, $1, 'E003', 'raised'), "
        "('b1', $2, 2, $2, 'E003', 'cleared')",
        old, now,
    )  # fmt: skip
    async with db.transaction():
        await write_batch(db, IngestBatch(quarantined=[
            QuarantineRow("ondol/v1/b1/telemetry", "b1", "bad_json", "x", b"{old", now - timedelta(days=40)),
            QuarantineRow("ondol/v1/b1/telemetry", "b1", "bad_json", "x", b"{new", now - timedelta(days=1)),
        ]))  # fmt: skip
    await refresh(db, now)
    assert floor_hour(old) in await hourly(db)

    async with db.transaction():
        result = await apply_retention(db, raw_days=90, event_days=90, rollup_days=400, quarantine_days=30)

    assert result.reading_chunks >= 1
    assert result.event_chunks >= 1
    assert result.rollup_chunks == 0
    assert result.quarantine_rows == 1
    assert [r["seq"] for r in await db.fetch("SELECT seq FROM readings")] == [2]
    assert [r["seq"] for r in await db.fetch("SELECT seq FROM events")] == [2]
    assert await db.fetchval("SELECT count(*) FROM quarantine") == 1
    assert floor_hour(old) in await hourly(db), "the rollup outlives the raw readings"

    async with db.transaction():
        shorter = await apply_retention(db, raw_days=90, event_days=90, rollup_days=60, quarantine_days=30)
    assert shorter.rollup_chunks >= 1
    assert floor_hour(old) not in await hourly(db)
    assert floor_hour(now - timedelta(hours=2)) in await hourly(db)


async def test_retention_rejects_a_period_under_one_day(db: asyncpg.Connection) -> None:
    with pytest.raises(ValueError, match="raw_days"):
        await apply_retention(db, raw_days=0, event_days=90, rollup_days=400, quarantine_days=30)


async def test_readings_of_the_current_hour_need_no_invalidation_until_its_last_minutes(
    db: asyncpg.Connection,
) -> None:
    await register(db, "b1")
    now = datetime.now(UTC)
    minutes_left = 60 - now.minute
    await store(db, reading("b1", now, 1, room_c=20.0))
    pending = await db.fetchval("SELECT count(*) FROM rollup_invalidation")
    # Within 5 minutes of the hour's end a refresh may close it before the batch commits.
    assert pending == (1 if minutes_left <= 5 else 0)
