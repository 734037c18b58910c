"""device.offline: one event per offline episode, for the call center's webhook subscribers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import asyncpg

from diagnostics.faults.sweeps import run_offline_sweep
from telemetry.database import create_pool
from telemetry.readings import IngestBatch, StatusRow, write_batch
from testbed.support import reading, register_full, store


async def test_a_device_that_stops_reporting_is_told_once_per_episode(
    db: asyncpg.Connection, db_dsn: str
) -> None:
    now = datetime.now(UTC)
    for device_id in ("quiet", "chatty", "never"):
        await register_full(db, device_id, latitude=37.5, longitude=127.0, region="busan", installed_on=None)
    await store(db, reading("quiet", now - timedelta(minutes=10), 1), reading("chatty", now, 1))
    pool = await create_pool(db_dsn, application_name="test-offline", min_size=1, max_size=2)
    try:
        assert await run_offline_sweep(pool) == 1
        assert await run_offline_sweep(pool) == 0, "the same episode is not told twice"
        events = await db.fetch(
            "SELECT subject, payload FROM outbox_events WHERE event_type = 'device.offline'"
        )
        assert [e["subject"] for e in events] == ["device/quiet"], "never-heard devices have no episode"
        payload = json.loads(events[0]["payload"])
        assert payload["region"] == "busan"
        assert payload["disconnected"] is False
        await store(db, reading("quiet", now, 2))  # back online: the mark is cleared
        assert await run_offline_sweep(pool) == 0
        async with db.transaction():  # then its last will: offline at once, a new episode
            await write_batch(db, IngestBatch(statuses=[StatusRow("quiet", now, False, None, None, False)]))
        assert await run_offline_sweep(pool) == 1
        last = await db.fetchval("SELECT payload FROM outbox_events WHERE event_type = 'device.offline' "
                                 "ORDER BY event_id DESC LIMIT 1")  # fmt: skip
        assert json.loads(last)["disconnected"] is True
    finally:
        await pool.close()
