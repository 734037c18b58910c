"""Two diagnostics workers drain a burst of 5,000 events while one is killed with SIGKILL and
restarted: every event is handled exactly once (counts, tickets and call-center events all add up)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import pytest

from firmware_sim.faults import Injection, inject
from protocol.broker import BrokerAddress
from testbed.support import eventually, gateway_config, register_full, running_gateway, seed_points

pytestmark = pytest.mark.slow  # a kill drill on a 5,000-event burst

DEVICES = 100
RAISES = 50


def start_worker(db_dsn: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, ONDOL_DATABASE_URL=db_dsn, ONDOL_SWEEP_INTERVAL_S="1")
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ondol", "diagnostics"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


async def test_killing_a_worker_during_a_burst_loses_and_duplicates_nothing(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress, tmp_path: Path
) -> None:
    await seed_points(db)
    devices = [f"burst-{i:03d}" for i in range(DEVICES)]
    for i, device_id in enumerate(devices):
        await register_full(db, device_id, latitude=37.5 + i * 0.001, longitude=127.0, region="seoul",
                            installed_on=date.today() - timedelta(days=100), contacts=1)  # fmt: skip
    log = tmp_path / "workers.log"
    async with running_gateway(gateway_config(db_dsn, broker)):
        # The burst is queued first, then the workers race through it.
        await asyncio.to_thread(
            inject, broker, [Injection(d, "E205", "raised", repeat=RAISES) for d in devices], 120
        )
        await eventually(
            lambda: db.fetchval("SELECT count(*) = $1 FROM events", DEVICES * RAISES),
            what="all events stored",
            timeout_s=60,
        )
    workers = [start_worker(db_dsn, log), start_worker(db_dsn, log)]
    try:
        await eventually(lambda: db.fetchval("SELECT count(*) <= $1 FROM event_inbox", DEVICES * RAISES * 3 // 4),
                         what="a quarter drained", timeout_s=60)  # fmt: skip
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        left = await db.fetchval("SELECT count(*) FROM event_inbox")
        workers[0] = start_worker(db_dsn, log)
        await eventually(
            lambda: db.fetchval("SELECT count(*) = 0 FROM event_inbox"), what="inbox drained", timeout_s=120
        )
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(30)
    assert left > 0, "the kill happened while events were still queued"
    summary = await db.fetchrow(
        "SELECT count(*) AS tickets, min(occurrences) AS least, max(occurrences) AS most FROM tickets"
    )
    assert dict(summary) == {"tickets": DEVICES, "least": RAISES, "most": RAISES}
    assert await db.fetchval("SELECT sum(raises) FROM fault_cases") == DEVICES * RAISES
    opened = await db.fetchval("SELECT count(*) FROM outbox_events WHERE event_type = 'ticket.opened'")
    updated = await db.fetchval("SELECT count(*) FROM outbox_events WHERE event_type = 'ticket.updated'")
    assert (opened, updated) == (DEVICES, DEVICES * (RAISES - 1))
    assert await db.fetchval("SELECT count(*) FROM diagnostic_failures") == 0
    alerts = await db.fetch(
        "SELECT kind, count(*) AS n, count(DISTINCT device_id) AS devices FROM customer_alerts GROUP BY kind"
    )
    assert [(a["kind"], a["n"], a["devices"]) for a in alerts] == [("visit", DEVICES, DEVICES)], (
        "a sensor fault tells each owner once that a visit is needed, the kill notwithstanding"
    )
